// A regular file copied from one open descriptor to another, holes kept: a reflink (FICLONE)
// where the filesystem can, else only the data extents (SEEK_DATA/SEEK_HOLE) with
// copy_file_range, then the size set by ftruncate. fs.copyFile's copy_file_range alone writes
// the holes out as zeros on ext4 (a 64 MiB file with 4 KiB of data became 64 MiB).
#include <errno.h>
#include <sys/stat.h>

#include "args.h"
#include "copy-data.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

class CopyFd {
 public:
  explicit CopyFd(const Napi::CallbackInfo& info)
      : in_(static_cast<int>(IntegerArg(info, 0, "inFd"))), out_(static_cast<int>(IntegerArg(info, 1, "outFd"))) {}

  void Run() {
    struct stat st;
    if (fstat(in_, &st) < 0) return error.Set(errno, "fstat");
    size_ = st.st_size;
    copier_.Copy(in_, out_, size_, true, error);
  }

  Napi::Value Result(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("size", Napi::Number::New(env, static_cast<double>(size_)));
    o.Set("copied", Napi::Number::New(env, static_cast<double>(copier_.copied())));
    o.Set("cloned", Napi::Boolean::New(env, copier_.cloned()));
    return o;
  }

  SysError error;

 private:
  int in_, out_;
  off_t size_ = 0;
  DataCopier copier_;
};

}  // namespace

void RegisterCopyFd(Napi::Env env, Napi::Object exports) { Export<CopyFd>(env, exports, "copyFd"); }

}  // namespace layerfs
