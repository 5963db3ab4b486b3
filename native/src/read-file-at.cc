// One small regular file read whole in one call, for the packer: opened relative to a directory
// descriptor (never following a symlink: the caller's flags carry O_NOFOLLOW), fstat'ed, read,
// fstat'ed again and closed. Node would take five calls and two Stats objects for it.
//
// readFileAtSync(dirFd, name, flags, buf, st) -> bytes read
//   name   one component (a Buffer or string), looked up in the directory open at dirFd
//   flags  open(2) flags (O_RDONLY | O_NOFOLLOW | O_NONBLOCK, maybe O_NOATIME)
//   buf    read into from its start until it is full or the file ends (the caller gives one
//          byte more than the size it expects, to see a file that grew)
//   st     Float64Array(12): ino, dev, mode, size, ctime s, ctime ns of the fstat before the
//          read, then the same of the fstat after it
// A descriptor that is not a regular file is closed before any read, and -1 returned (the
// caller says what took the file's place). Errors are Node-style, syscall open, fstat or read.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "register.h"

namespace layerfs {
namespace {

constexpr size_t ST_FIELDS = 6;

void Fill(double* out, const struct stat& s) {
  out[0] = static_cast<double>(s.st_ino);
  out[1] = static_cast<double>(s.st_dev);
  out[2] = static_cast<double>(s.st_mode);
  out[3] = static_cast<double>(s.st_size);
  out[4] = static_cast<double>(s.st_ctim.tv_sec);
  out[5] = static_cast<double>(s.st_ctim.tv_nsec);
}

Napi::Value ReadFileAtSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int dirFd = static_cast<int>(IntegerArg(info, 0, "dirFd"));
  const std::string name = PathArg(info, 1, "name");
  const int flags = static_cast<int>(IntegerArg(info, 2, "flags"));
  if (info.Length() < 5 || !info[3].IsBuffer()) ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"buf\" argument must be a Buffer");
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[4].As<Napi::Float64Array>().ElementLength() < 2 * ST_FIELDS) {
    ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"st\" argument must be a Float64Array of 12 elements");
  }
  Napi::Buffer<char> buf = info[3].As<Napi::Buffer<char>>();
  double* st = info[4].As<Napi::Float64Array>().Data();

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
  } else if (!S_ISREG(s.st_mode)) {
    Fill(st, s);
    total = -1;
  } else {
    Fill(st, s);
    char* data = buf.Data();
    const size_t size = buf.Length();
    while (static_cast<size_t>(total) < size) {
      const ssize_t n = read(fd, data + total, size - total);
      if (n < 0) {
        if (errno == EINTR) continue;
        error.Set(errno, "read", &name);
        break;
      }
      if (n == 0) break;
      total += n;
    }
    if (!error.err) {
      if (fstat(fd, &s) < 0) error.Set(errno, "fstat", &name);
      else Fill(st + ST_FIELDS, s);
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
