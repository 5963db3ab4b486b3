// mountRoot(path): whether `path` (symlinks followed, as a lookup of mountinfo by its real path
// would) is the root of a mount, from one statx (STATX_ATTR_MOUNT_ROOT, Linux 5.8+): 1 or 0, or
// -1 when the kernel does not say (the caller then reads mountinfo). A check before every mount
// and after every unmount no longer reads and parses all of /proc/self/mountinfo, whose size
// grows with every container mounted on the machine.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "args.h"
#include "op.h"
#include "register.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

namespace layerfs {
namespace {

class MountRoot {
 public:
  explicit MountRoot(const Napi::CallbackInfo& info) : path_(PathArg(info, 0, "path")) {}

  void Run() {
    struct statx st;
    if (statx(AT_FDCWD, path_.c_str(), AT_STATX_SYNC_AS_STAT, STATX_TYPE, &st) < 0) return error.Set(errno, "statx", &path_);
    if (!(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) result_ = -1;
    else result_ = (st.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
  }

  Napi::Value Result(Napi::Env env) { return Napi::Number::New(env, result_); }

  SysError error;

 private:
  std::string path_;
  int result_ = -1;
};

}  // namespace

void RegisterMountRoot(Napi::Env env, Napi::Object exports) { Export<MountRoot>(env, exports, "mountRoot"); }

}  // namespace layerfs
