// The new mount API in one call: fsopen -> fsconfig (one parameter at a time, so overlay's
// `lowerdir+` takes any number of lowers with no page-size limit and no escaping) ->
// fsconfig(CMD_CREATE) -> fsmount -> move_mount onto the target. On failure the fs context's
// own log (what the filesystem said) goes into the error; filesystems that printk instead (overlayfs
// reports a missing lowerdir only to dmesg) have their kernel-log lines of the call taken instead.
#include <errno.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "kmsg.h"
#include "op.h"
#include "register.h"
#include "syscalls.h"

namespace layerfs {
namespace {

// Closes the descriptor on every way out.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Drains the fs context's message queue: lines like "e overlay: failed to resolve ...".
std::vector<std::string> ReadContextLog(int fsfd) {
  std::vector<std::string> lines;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fsfd, buf, sizeof buf);
    if (n <= 0) break;  // ENODATA: the queue is empty
    std::string line(buf, n);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

struct Param {
  std::string key;
  std::optional<std::string> value;  // nullopt: a flag (FSCONFIG_SET_FLAG)
};

class FsMount {
 public:
  explicit FsMount(const Napi::CallbackInfo& info)
      : fstype_(PathArg(info, 0, "fstype")), target_(PathArg(info, 1, "target")) {
    Napi::Env env = info.Env();
    if (!info[2].IsArray()) ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"params\" argument must be an array of [key, value | null]");
    const Napi::Array params = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < params.Length(); i++) {
      const Napi::Value item = params.Get(i);
      const std::string where = "params[" + std::to_string(i) + "]";
      if (!item.IsArray() || item.As<Napi::Array>().Length() < 1) {
        ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"" + where + "\" argument must be a [key, value | null] pair");
      }
      const Napi::Array pair = item.As<Napi::Array>();
      Param p;
      p.key = PathValue(env, pair.Get(0u), where + "[0]");
      const Napi::Value value = pair.Get(1u);
      if (!value.IsNull() && !value.IsUndefined()) p.value = PathValue(env, value, where + "[1]");
      params_.push_back(std::move(p));
    }
    if (info[3].IsObject()) {
      const Napi::Object opts = info[3].As<Napi::Object>();
      const Napi::Value source = opts.Get("source");
      if (!source.IsUndefined() && !source.IsNull()) source_ = PathValue(env, source, "opts.source");
      const Napi::Value attrs = opts.Get("mountAttrs");
      if (!attrs.IsUndefined()) mountAttrs_ = static_cast<unsigned>(IntegerValue(env, attrs, "opts.mountAttrs"));
    } else if (!info[3].IsUndefined() && !info[3].IsNull()) {
      ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"opts\" argument must be of type object");
    }
  }

  void Run() {
    kmsg_ = std::make_unique<KmsgCursor>();
    const Fd fs(sys_fsopen(fstype_.c_str(), FSOPEN_CLOEXEC));
    if (fs.get() < 0) {
      error.Set(errno, "fsopen", &target_);
      error.detail = "(" + fstype_ + ")";
      return;
    }
    if (source_ && !Set(fs.get(), Param{"source", source_})) return;
    for (const Param& p : params_) {
      if (!Set(fs.get(), p)) return;
    }
    if (sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
      Fail(fs.get(), "fsconfig", "(create " + fstype_ + ")");
      return;
    }
    const Fd mnt(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, mountAttrs_));
    if (mnt.get() < 0) {
      Fail(fs.get(), "fsmount", "(" + fstype_ + ")");
      return;
    }
    // Until move_mount succeeds the mount is detached: closing `mnt` tears it down.
    if (sys_move_mount(mnt.get(), "", AT_FDCWD, target_.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
      error.Set(errno, "move_mount", &target_);
    }
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  bool Set(int fsfd, const Param& p) {
    const int r = p.value ? sys_fsconfig(fsfd, FSCONFIG_SET_STRING, p.key.c_str(), p.value->c_str(), 0)
                          : sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, p.key.c_str(), nullptr, 0);
    if (r == 0) return true;
    Fail(fsfd, "fsconfig", "(" + p.key + (p.value ? "=" + *p.value : "") + ")");
    return false;
  }

  void Fail(int fsfd, const char* syscall, std::string detail) {
    error.Set(errno, syscall, &target_);
    error.detail = std::move(detail);
    error.kernelLog = ReadContextLog(fsfd);
    if (error.kernelLog.empty()) error.kernelLog = kmsg_->Since(fstype_);
  }

  std::string fstype_, target_;
  std::vector<Param> params_;
  std::optional<std::string> source_;
  unsigned mountAttrs_ = 0;
  std::unique_ptr<KmsgCursor> kmsg_;
};

// Whether this kernel and these privileges allow fsopen(fstype) and, when given, accept one
// fsconfig string parameter (e.g. overlay's `lowerdir+`, which came after fsopen itself).
Napi::Value FsopenProbe(const Napi::CallbackInfo& info) {
  const std::string fstype = PathArg(info, 0, "fstype");
  const std::optional<std::string> key = OptionalPathArg(info, 1, "key");
  const std::optional<std::string> value = OptionalPathArg(info, 2, "value");
  const Fd fs(sys_fsopen(fstype.c_str(), FSOPEN_CLOEXEC));
  bool ok = fs.get() >= 0;
  if (ok && key) ok = sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, key->c_str(), value ? value->c_str() : "", 0) == 0;
  return Napi::Boolean::New(info.Env(), ok);
}

}  // namespace

void RegisterFsmount(Napi::Env env, Napi::Object exports) {
  Export<FsMount>(env, exports, "fsmount");
  exports.Set("fsopenProbe", Napi::Function::New(env, FsopenProbe, "fsopenProbe"));
}

}  // namespace layerfs
