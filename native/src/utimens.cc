// utimensat(2) with AT_SYMLINK_NOFOLLOW: times to the nanosecond, on a symlink itself. Node's
// utimes and lutimes take seconds as a double, which libuv cuts to microseconds.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "args.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

class Lutimens {
 public:
  explicit Lutimens(const Napi::CallbackInfo& info) : path_(PathArg(info, 0, "path")) {
    times_[0].tv_sec = IntegerArg(info, 1, "atimeSec");
    times_[0].tv_nsec = IntegerArg(info, 2, "atimeNsec");
    times_[1].tv_sec = IntegerArg(info, 3, "mtimeSec");
    times_[1].tv_nsec = IntegerArg(info, 4, "mtimeNsec");
  }

  void Run() {
    if (utimensat(AT_FDCWD, path_.c_str(), times_, AT_SYMLINK_NOFOLLOW) < 0) error.Set(errno, "utimensat", &path_);
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  std::string path_;
  struct timespec times_[2];
};

}  // namespace

void RegisterUtimens(Napi::Env env, Napi::Object exports) { Export<Lutimens>(env, exports, "lutimens"); }

}  // namespace layerfs
