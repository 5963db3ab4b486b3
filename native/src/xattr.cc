// Extended attributes of a path itself (the l* calls never follow a final symlink).
// Values are bytes: a security.capability value survives byte for byte.
#include <errno.h>
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "args.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

class GetXattr {
 public:
  explicit GetXattr(const Napi::CallbackInfo& info)
      : path_(PathArg(info, 0, "path")), name_(PathArg(info, 1, "name")) {}

  void Run() {
    // Most values are small: try a fixed buffer first, ask for the size only when it is short.
    value_.resize(256);
    for (;;) {
      const ssize_t n = lgetxattr(path_.c_str(), name_.c_str(), value_.data(), value_.size());
      if (n >= 0) {
        value_.resize(n);
        return;
      }
      if (errno == ENODATA) {
        missing_ = true;
        return;
      }
      if (errno != ERANGE) return error.Set(errno, "lgetxattr", &path_);
      const ssize_t size = lgetxattr(path_.c_str(), name_.c_str(), nullptr, 0);
      if (size < 0) {
        if (errno == ENODATA) {
          missing_ = true;
          return;
        }
        return error.Set(errno, "lgetxattr", &path_);
      }
      value_.resize(size + 1);  // one spare byte, so a value that grows meanwhile shows as ERANGE
    }
  }

  Napi::Value Result(Napi::Env env) {
    if (missing_) return env.Null();
    return Napi::Buffer<char>::Copy(env, value_.data(), value_.size());
  }

  SysError error;

 private:
  std::string path_, name_;
  std::vector<char> value_;
  bool missing_ = false;
};

class SetXattr {
 public:
  explicit SetXattr(const Napi::CallbackInfo& info)
      : path_(PathArg(info, 0, "path")),
        name_(PathArg(info, 1, "name")),
        value_(BytesArg(info, 2, "value")),
        flags_(static_cast<int>(IntegerArg(info, 3, "flags", 0))) {}

  void Run() {
    if (lsetxattr(path_.c_str(), name_.c_str(), value_.data(), value_.size(), flags_) < 0) {
      error.Set(errno, "lsetxattr", &path_);
    }
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  std::string path_, name_, value_;
  int flags_;
};

class ListXattr {
 public:
  explicit ListXattr(const Napi::CallbackInfo& info) : path_(PathArg(info, 0, "path")) {}

  void Run() {
    list_.resize(1024);
    for (;;) {
      const ssize_t n = llistxattr(path_.c_str(), list_.data(), list_.size());
      if (n >= 0) {
        list_.resize(n);
        return;
      }
      if (errno != ERANGE) return error.Set(errno, "llistxattr", &path_);
      const ssize_t size = llistxattr(path_.c_str(), nullptr, 0);
      if (size < 0) return error.Set(errno, "llistxattr", &path_);
      list_.resize(size + 1);
    }
  }

  Napi::Value Result(Napi::Env env) {
    // The kernel returns the names NUL-terminated, one after another.
    Napi::Array names = Napi::Array::New(env);
    uint32_t count = 0;
    size_t start = 0;
    for (size_t i = 0; i < list_.size(); i++) {
      if (list_[i] != '\0') continue;
      if (i > start) names.Set(count++, Napi::String::New(env, list_.data() + start, i - start));
      start = i + 1;
    }
    return names;
  }

  SysError error;

 private:
  std::string path_;
  std::vector<char> list_;
};

class RemoveXattr {
 public:
  explicit RemoveXattr(const Napi::CallbackInfo& info)
      : path_(PathArg(info, 0, "path")), name_(PathArg(info, 1, "name")) {}

  void Run() {
    if (lremovexattr(path_.c_str(), name_.c_str()) < 0) error.Set(errno, "lremovexattr", &path_);
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  std::string path_, name_;
};

}  // namespace

void RegisterXattr(Napi::Env env, Napi::Object exports) {
  Export<GetXattr>(env, exports, "lgetxattr");
  Export<SetXattr>(env, exports, "lsetxattr");
  Export<ListXattr>(env, exports, "llistxattr");
  Export<RemoveXattr>(env, exports, "lremovexattr");
}

}  // namespace layerfs
