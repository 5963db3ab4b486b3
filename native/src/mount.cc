// mount(2) and umount2(2). Bind mounts, remounts and propagation changes still need the old
// call; overlays with many lowers go through fsmount.cc, since mount(2) cuts its options at
// one page without a word.
#include <errno.h>
#include <sys/mount.h>

#include <optional>
#include <string>

#include "args.h"
#include "kmsg.h"
#include "op.h"
#include "register.h"
#include "syscalls.h"

namespace layerfs {
namespace {

const char* OrNull(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

class Mount {
 public:
  explicit Mount(const Napi::CallbackInfo& info)
      : source_(OptionalPathArg(info, 0, "source")),
        target_(PathArg(info, 1, "target")),
        fstype_(OptionalPathArg(info, 2, "fstype")),
        flags_(static_cast<unsigned long>(IntegerArg(info, 3, "flags", 0))),
        data_(OptionalPathArg(info, 4, "data")) {}

  void Run() {
    // mount(2) has no log of its own: the filesystem's complaint goes to the kernel log.
    KmsgCursor kmsg;
    if (mount(OrNull(source_), target_.c_str(), OrNull(fstype_), flags_, OrNull(data_)) < 0) {
      error.Set(errno, "mount", &target_);
      if (fstype_) error.kernelLog = kmsg.Since(*fstype_);
    }
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  std::optional<std::string> source_;
  std::string target_;
  std::optional<std::string> fstype_;
  unsigned long flags_;
  std::optional<std::string> data_;
};

class Umount2 {
 public:
  explicit Umount2(const Napi::CallbackInfo& info)
      : target_(PathArg(info, 0, "target")), flags_(static_cast<int>(IntegerArg(info, 1, "flags", 0))) {}

  void Run() {
    if (umount2(target_.c_str(), flags_) < 0) error.Set(errno, "umount2", &target_);
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  std::string target_;
  int flags_;
};

}  // namespace

void RegisterMount(Napi::Env env, Napi::Object exports) {
  Export<Mount>(env, exports, "mount");
  Export<Umount2>(env, exports, "umount2");
}

}  // namespace layerfs
