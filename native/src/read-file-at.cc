// One small regular file read whole in one call, for the packer: opened relative to a directory
// descriptor (never following a symlink: the caller's flags carry O_NOFOLLOW), fstat'ed, its
// xattr list measured, read, fstat'ed again and closed. Node would take six calls, a path
// lookup through /proc and two Stats objects for it.
//
// readFileAtSync(dirFd, name, flags, buf, st) -> bytes read, or -1 (not a regular file: nothing
// read) or -2 (larger than buf.length - 1: nothing read)
//   name   one component (a Buffer or string), looked up in the directory open at dirFd
//   flags  open(2) flags (O_RDONLY | O_NOFOLLOW | O_NONBLOCK, maybe O_NOATIME)
//   buf    read into from its start: the size fstat gave and one byte more (getting that
//          byte means the file grew); a file of buf.length bytes or more is not read
//   st     BigInt64Array(ST_FIELDS): the fstat before the read (ino, dev, mode, nlink, uid,
//          gid, rdev, size, blksize, blocks, atime, mtime, ctime ns), the bytes of its xattr
//          names (flistxattr), then ino, dev, size and ctime ns of the fstat after the read
// Errors are Node-style, syscall open, fstat, flistxattr or read.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>

#include <string>

#include "args.h"
#include "errors.h"
#include "register.h"

namespace layerfs {
namespace {

constexpr size_t ST_FIELDS = 18;

int64_t Ns(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

void Fill(int64_t* out, const struct stat& s) {
  out[0] = static_cast<int64_t>(s.st_ino);
  out[1] = static_cast<int64_t>(s.st_dev);
  out[2] = s.st_mode;
  out[3] = static_cast<int64_t>(s.st_nlink);
  out[4] = s.st_uid;
  out[5] = s.st_gid;
  out[6] = static_cast<int64_t>(s.st_rdev);
  out[7] = s.st_size;
  out[8] = s.st_blksize;
  out[9] = s.st_blocks;
  out[10] = Ns(s.st_atim);
  out[11] = Ns(s.st_mtim);
  out[12] = Ns(s.st_ctim);
}

Napi::Value ReadFileAtSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int dirFd = static_cast<int>(IntegerArg(info, 0, "dirFd"));
  const std::string name = PathArg(info, 1, "name");
  const int flags = static_cast<int>(IntegerArg(info, 2, "flags"));
  if (info.Length() < 5 || !info[3].IsBuffer()) ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"buf\" argument must be a Buffer");
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array ||
      info[4].As<Napi::TypedArray>().ElementLength() < ST_FIELDS) {
    ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"st\" argument must be a BigInt64Array of 18 elements");
  }
  Napi::Buffer<char> buf = info[3].As<Napi::Buffer<char>>();
  Napi::TypedArray sta = info[4].As<Napi::TypedArray>();
  int64_t* st = reinterpret_cast<int64_t*>(static_cast<char*>(sta.ArrayBuffer().Data()) + sta.ByteOffset());

  SysError error;
  const int fd = openat(dirFd, name.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    error.Set(errno, "open", &name);
    throw MakeSysError(env, error);
  }
  struct stat s;
  ssize_t total = 0;
  if (fstat(fd, &s) < 0) {
    error.Set(errno, "fstat", &name);
  } else if (!S_ISREG(s.st_mode) || s.st_size >= static_cast<off_t>(buf.Length())) {
    Fill(st, s);
    total = S_ISREG(s.st_mode) ? -2 : -1;
  } else if ((st[13] = flistxattr(fd, nullptr, 0)) < 0 && errno != ENOTSUP) {
    error.Set(errno, "flistxattr", &name);
  } else {
    if (st[13] < 0) st[13] = 0;  // a filesystem without xattrs has none
    Fill(st, s);
    char* data = buf.Data();
    // one byte more than its size is asked for; a read that ends at its size ended the file
    // (a regular file reads short only at its end), as the packer's own reads take it
    const ssize_t want = s.st_size + 1;
    while (total < want) {
      const ssize_t n = read(fd, data + total, want - total);
      if (n < 0) {
        if (errno == EINTR) continue;
        error.Set(errno, "read", &name);
        break;
      }
      total += n;
      if (n == 0 || total >= s.st_size) break;
    }
    if (!error.err) {
      if (fstat(fd, &s) < 0) error.Set(errno, "fstat", &name);
      else {
        st[14] = static_cast<int64_t>(s.st_ino);
        st[15] = static_cast<int64_t>(s.st_dev);
        st[16] = s.st_size;
        st[17] = Ns(s.st_ctim);
      }
    }
  }
  close(fd);
  if (error.err) throw MakeSysError(env, error);
  return Napi::Number::New(env, static_cast<double>(total));
}

}  // namespace

void RegisterReadFileAt(Napi::Env env, Napi::Object exports) {
  exports.Set("readFileAtSync", Napi::Function::New(env, ReadFileAtSync, "readFileAtSync"));
}

}  // namespace layerfs
