// flock(2) on an open file descriptor. A blocking LOCK_EX can wait for as long as another
// process holds the lock, so the promise variant waits on a pool thread, never the main one.
#include <errno.h>
#include <sys/file.h>

#include "args.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

class Flock {
 public:
  explicit Flock(const Napi::CallbackInfo& info)
      : fd_(static_cast<int>(IntegerArg(info, 0, "fd"))), op_(static_cast<int>(IntegerArg(info, 1, "operation"))) {}

  void Run() {
    int r;
    do r = flock(fd_, op_);
    while (r < 0 && errno == EINTR);
    if (r < 0) error.Set(errno, "flock");
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  int fd_, op_;
};

}  // namespace

void RegisterFlock(Napi::Env env, Napi::Object exports) { Export<Flock>(env, exports, "flock"); }

}  // namespace layerfs
