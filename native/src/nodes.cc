// Device nodes and fifos (mknod) and atomic renames with flags (renameat2): the overlay
// whiteout is a character device 0/0, and RENAME_WHITEOUT/EXCHANGE/NOREPLACE have no Node API.
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

#include "args.h"
#include "op.h"
#include "register.h"
#include "syscalls.h"

namespace layerfs {
namespace {

class Mknod {
 public:
  explicit Mknod(const Napi::CallbackInfo& info)
      : path_(PathArg(info, 0, "path")),
        mode_(static_cast<mode_t>(IntegerArg(info, 1, "mode"))),
        major_(static_cast<unsigned>(IntegerArg(info, 2, "major", 0))),
        minor_(static_cast<unsigned>(IntegerArg(info, 3, "minor", 0))) {}

  void Run() {
    if (mknod(path_.c_str(), mode_, makedev(major_, minor_)) < 0) error.Set(errno, "mknod", &path_);
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  std::string path_;
  mode_t mode_;
  unsigned major_, minor_;
};

class Renameat2 {
 public:
  explicit Renameat2(const Napi::CallbackInfo& info)
      : old_(PathArg(info, 0, "oldPath")),
        new_(PathArg(info, 1, "newPath")),
        flags_(static_cast<unsigned>(IntegerArg(info, 2, "flags", 0))) {}

  void Run() {
    if (sys_renameat2(old_.c_str(), new_.c_str(), flags_) < 0) error.Set(errno, "renameat2", &old_, &new_);
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  std::string old_, new_;
  unsigned flags_;
};

}  // namespace

void RegisterNodes(Napi::Env env, Napi::Object exports) {
  Export<Mknod>(env, exports, "mknod");
  Export<Renameat2>(env, exports, "renameat2");
}

}  // namespace layerfs
