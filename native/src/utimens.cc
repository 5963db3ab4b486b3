// Times with nanoseconds (utimensat): Node's utimes takes a double of seconds and libuv cuts it to
// microseconds, so a layer's PAX mtime 1700000000.123456789 could not be kept exactly.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "args.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

// lutimens(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec): the path itself, never following a
// final symlink (AT_SYMLINK_NOFOLLOW); nanoseconds in 0..999999999.
class Lutimens {
 public:
  explicit Lutimens(const Napi::CallbackInfo& info) : path_(PathArg(info, 0, "path")) {
    const char* names[] = {"atimeSec", "atimeNsec", "mtimeSec", "mtimeNsec"};
    int64_t v[4];
    for (int i = 0; i < 4; i++) v[i] = IntegerArg(info, 1 + i, names[i]);
    for (int i : {1, 3}) {
      if (v[i] < 0 || v[i] > 999999999) ThrowArgError(info.Env(), "ERR_OUT_OF_RANGE", std::string("The value of \"") + names[i] + "\" must be in 0..999999999");
    }
    times_[0].tv_sec = static_cast<time_t>(v[0]);
    times_[0].tv_nsec = static_cast<long>(v[1]);
    times_[1].tv_sec = static_cast<time_t>(v[2]);
    times_[1].tv_nsec = static_cast<long>(v[3]);
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
