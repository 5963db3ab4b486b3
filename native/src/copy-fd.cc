// A regular file copied from one open descriptor to another, holes kept: a reflink (FICLONE)
// where the filesystem can, else only the data extents (SEEK_DATA/SEEK_HOLE) with
// copy_file_range, then the size set by ftruncate. fs.copyFile's copy_file_range alone writes
// the holes out as zeros on ext4 (a 64 MiB file with 4 KiB of data became 64 MiB).
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "args.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

// errors that say "not between these two files", as opposed to a real failure
bool CannotOffload(int e) { return e == EXDEV || e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == ENOTTY || e == EBADF; }

class CopyFd {
 public:
  explicit CopyFd(const Napi::CallbackInfo& info)
      : in_(static_cast<int>(IntegerArg(info, 0, "inFd"))), out_(static_cast<int>(IntegerArg(info, 1, "outFd"))) {}

  void Run() {
    struct stat st;
    if (fstat(in_, &st) < 0) return error.Set(errno, "fstat");
    size_ = st.st_size;
    if (size_ == 0) return;
    if (ioctl(out_, FICLONE, in_) == 0) {
      cloned_ = true;
      return;
    }
    if (!CannotOffload(errno)) return error.Set(errno, "ioctl(FICLONE)");
    for (off_t off = 0; off < size_;) {
      off_t data = lseek(in_, off, SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) break;  // nothing but a hole up to the end
        if (errno != EINVAL) return error.Set(errno, "lseek(SEEK_DATA)");
        data = off;  // no SEEK_DATA here: all of it is data
      }
      off_t hole = lseek(in_, data, SEEK_HOLE);
      if (hole < 0) {
        if (errno != EINVAL) return error.Set(errno, "lseek(SEEK_HOLE)");
        hole = size_;
      }
      if (hole > size_) hole = size_;
      if (!CopyRange(data, hole - data)) return;
      off = hole;
    }
    if (ftruncate(out_, size_) < 0) error.Set(errno, "ftruncate");
  }

  Napi::Value Result(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("size", Napi::Number::New(env, static_cast<double>(size_)));
    o.Set("copied", Napi::Number::New(env, static_cast<double>(copied_)));
    o.Set("cloned", Napi::Boolean::New(env, cloned_));
    return o;
  }

  SysError error;

 private:
  // [start, start+len) to the same offsets: in the kernel where it can, else read and write
  bool CopyRange(off_t start, off_t len) {
    loff_t from = start, to = start;
    while (len > 0 && !noOffload_) {
      const ssize_t n = copy_file_range(in_, &from, out_, &to, static_cast<size_t>(len), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (!CannotOffload(errno)) return error.Set(errno, "copy_file_range"), false;
        noOffload_ = true;
        break;
      }
      if (n == 0) return true;  // the file shrank: the caller sees it in fstat
      len -= n;
      copied_ += n;
    }
    if (len > 0) buf_.resize(1 << 20);
    while (len > 0) {
      const ssize_t n = pread(in_, buf_.data(), static_cast<size_t>(len < (off_t)buf_.size() ? len : buf_.size()), from);
      if (n < 0) {
        if (errno == EINTR) continue;
        return error.Set(errno, "pread"), false;
      }
      if (n == 0) return true;
      for (ssize_t w = 0; w < n;) {
        const ssize_t m = pwrite(out_, buf_.data() + w, static_cast<size_t>(n - w), to + w);
        if (m < 0) {
          if (errno == EINTR) continue;
          return error.Set(errno, "pwrite"), false;
        }
        w += m;
      }
      from += n;
      to += n;
      len -= n;
      copied_ += n;
    }
    return true;
  }

  int in_, out_;
  off_t size_ = 0;
  off_t copied_ = 0;
  bool cloned_ = false;
  bool noOffload_ = false;
  std::vector<char> buf_;
};

}  // namespace

void RegisterCopyFd(Napi::Env env, Napi::Object exports) { Export<CopyFd>(env, exports, "copyFd"); }

}  // namespace layerfs
