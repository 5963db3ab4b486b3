#include "copy-data.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace layerfs {
namespace {

// errors that say "not between these two files", as opposed to a real failure
bool CannotOffload(int e) { return e == EXDEV || e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == ENOTTY || e == EBADF; }

}  // namespace

bool DataCopier::Copy(int in, int out, off_t size, bool sparse, SysError& error) {
  cloned_ = false;
  copied_ = 0;
  if (size == 0) return true;
  if (canClone_) {
    if (ioctl(out, FICLONE, in) == 0) {
      cloned_ = true;
      return true;
    }
    if (!CannotOffload(errno)) return error.Set(errno, "ioctl(FICLONE)"), false;
    canClone_ = false;  // the same filesystems for every file of one copier
  }
  if (!sparse) return CopyRange(in, out, 0, size, error);
  for (off_t off = 0; off < size;) {
    off_t data = lseek(in, off, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // nothing but a hole up to the end
      if (errno != EINVAL) return error.Set(errno, "lseek(SEEK_DATA)"), false;
      data = off;  // no SEEK_DATA here: all of it is data
    }
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0) {
      if (errno != EINVAL) return error.Set(errno, "lseek(SEEK_HOLE)"), false;
      hole = size;
    }
    if (hole > size) hole = size;
    if (!CopyRange(in, out, data, hole - data, error)) return false;
    off = hole;
  }
  if (ftruncate(out, size) < 0) return error.Set(errno, "ftruncate"), false;
  return true;
}

// [start, start+len) to the same offsets: in the kernel where it can, else read and write
bool DataCopier::CopyRange(int in, int out, off_t start, off_t len, SysError& error) {
  loff_t from = start, to = start;
  while (len > 0 && !noOffload_) {
    const ssize_t n = copy_file_range(in, &from, out, &to, static_cast<size_t>(len), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!CannotOffload(errno)) return error.Set(errno, "copy_file_range"), false;
      noOffload_ = true;
      break;
    }
    if (n == 0) return true;  // the file shrank
    len -= n;
    copied_ += n;
  }
  if (len > 0) buf_.resize(1 << 20);
  while (len > 0) {
    const ssize_t n = pread(in, buf_.data(), static_cast<size_t>(len < (off_t)buf_.size() ? len : buf_.size()), from);
    if (n < 0) {
      if (errno == EINTR) continue;
      return error.Set(errno, "pread"), false;
    }
    if (n == 0) return true;
    for (ssize_t w = 0; w < n;) {
      const ssize_t m = pwrite(out, buf_.data() + w, static_cast<size_t>(n - w), to + w);
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

}  // namespace layerfs
