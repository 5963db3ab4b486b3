// The copy driver's per-directory batch: the entries of one directory of the union, copied into
// the matching directory of the copy with *at() calls relative to a descriptor of it. That
// directory is opened from the copy's root one component at a time with O_NOFOLLOW, so nothing
// is written through a symlink; every entry is created new (O_EXCL, mkdirat, symlinkat,
// mknodat fail on anything already there).
//
// copyEntries(rootFd, dir, dirShown, srcDirs, names, stats, flags, newUid, newGid):
//   dir      the directory under rootFd ('' for the root itself), '/'-separated
//   dirShown its path for error messages
//   srcDirs  the source directories the entries come from (a layer's copy of this directory)
//   names    one name per entry
//   stats    BigInt64Array, STAT_FIELDS per entry: source index, and the lstat of the source
//            (mode, uid, gid, size, blocks, rdev, atime ns, mtime ns)
//   flags    COPY_OWNERS: chown what the new entry did not get (root); COPY_XATTRS
//   newUid, newGid  the owner every new entry gets without a chown, or -1 (a set-group-ID root)
// Per entry, in this order: made (regular files 0600, directories 0700), data copied, owner,
// xattrs (after the chown, which clears security.capability), mode (after the chown, which
// clears set-id bits), times. A directory gets its owner and xattrs only: its mode and times
// are the caller's to set once its contents are in. Sockets are skipped.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "copy-data.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

constexpr int STAT_FIELDS = 9;
constexpr int COPY_OWNERS = 1;
constexpr int COPY_XATTRS = 2;

bool IsOverlayXattr(const char* name) {
  return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int f = -1) {
    if (fd >= 0) close(fd);
    fd = f;
  }
};

// A source of xattrs: an open descriptor, or a path whose last component is not followed.
struct XattrSource {
  int fd;
  const std::string* path;
  ssize_t List(char* buf, size_t size) const { return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(path->c_str(), buf, size); }
  ssize_t Get(const char* name, void* buf, size_t size) const {
    return fd >= 0 ? fgetxattr(fd, name, buf, size) : lgetxattr(path->c_str(), name, buf, size);
  }
};

class CopyEntries {
 public:
  explicit CopyEntries(const Napi::CallbackInfo& info)
      : rootFd_(static_cast<int>(IntegerArg(info, 0, "rootFd"))),
        dir_(PathArg(info, 1, "dir")),
        dirShown_(PathArg(info, 2, "dirShown")),
        flags_(static_cast<int>(IntegerArg(info, 6, "flags"))),
        newUid_(IntegerArg(info, 7, "newUid")),
        newGid_(IntegerArg(info, 8, "newGid")) {
    Napi::Env env = info.Env();
    for (const std::string& c : Components(dir_)) {
      if (c.empty() || c == "." || c == "..") ThrowArgError(env, "ERR_INVALID_ARG_VALUE", "The argument 'dir' must be a relative path of plain names, got '" + dir_ + "'");
    }
    if (!info[3].IsArray()) ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"srcDirs\" argument must be an array");
    if (!info[4].IsArray()) ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"names\" argument must be an array");
    Napi::Array srcDirs = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < srcDirs.Length(); i++) srcDirs_.push_back(PathValue(env, srcDirs.Get(i), "srcDirs[" + std::to_string(i) + "]"));
    Napi::Array names = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string n = PathValue(env, names.Get(i), "names[" + std::to_string(i) + "]");
      if (n.empty() || n == "." || n == ".." || n.find('/') != std::string::npos) ThrowArgError(env, "ERR_INVALID_ARG_VALUE", "The argument 'names[" + std::to_string(i) + "]' must be a plain name, got '" + n + "'");
      names_.push_back(std::move(n));
    }
    const Napi::Value s = info[5];
    if (!s.IsTypedArray() || s.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array) {
      ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"stats\" argument must be a BigInt64Array");
    }
    Napi::TypedArrayOf<int64_t> stats = s.As<Napi::TypedArrayOf<int64_t>>();
    if (stats.ElementLength() != names_.size() * STAT_FIELDS) ThrowArgError(env, "ERR_INVALID_ARG_VALUE", "The \"stats\" argument must hold " + std::to_string(STAT_FIELDS) + " values per name");
    stats_.assign(stats.Data(), stats.Data() + stats.ElementLength());
    for (size_t i = 0; i < names_.size(); i++) {
      const int64_t src = stats_[i * STAT_FIELDS];
      if (src < 0 || static_cast<size_t>(src) >= srcDirs_.size()) ThrowArgError(env, "ERR_OUT_OF_RANGE", "The source index of names[" + std::to_string(i) + "] is not one of srcDirs");
    }
  }

  void Run() {
    srcFds_.assign(srcDirs_.size(), -1);
    if (OpenDir()) {
      for (size_t i = 0; i < names_.size() && !error.err; i++) CopyOne(i);
    }
    for (int& fd : srcFds_) CloseFd(fd);
    CloseFd(dirFd_);
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  static std::vector<std::string> Components(const std::string& p) {
    std::vector<std::string> out;
    if (p.empty()) return out;
    size_t start = 0;
    for (;;) {
      const size_t slash = p.find('/', start);
      out.push_back(p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) return out;
      start = slash + 1;
    }
  }

  // the destination directory, reached from the root without following a symlink anywhere
  bool OpenDir() {
    dirFd_ = openat(rootFd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd_ < 0) return error.Set(errno, "openat", &dirShown_), false;
    for (const std::string& c : Components(dir_)) {
      const int fd = openat(dirFd_, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return error.Set(errno, "openat", &dirShown_), false;
      CloseFd(dirFd_);
      dirFd_ = fd;
    }
    return true;
  }

  static void CloseFd(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }

  int SrcDir(size_t k) {
    int& fd = srcFds_[k];
    if (fd < 0) {
      fd = open(srcDirs_[k].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) error.Set(errno, "open", &srcDirs_[k]);
    }
    return fd;
  }

  bool Chown(int fd, const char* name, uid_t uid, gid_t gid, const std::string& dest) {
    if (!(flags_ & COPY_OWNERS)) return true;
    if (newUid_ >= 0 && uid == newUid_ && gid == newGid_) return true;
    const int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dirFd_, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (r < 0) return error.Set(errno, fd >= 0 ? "fchown" : "fchownat", &dest), false;
    return true;
  }

  // Every xattr of the source but overlay's own onto the new entry (an fd, or `destAt`, a path
  // whose last component is not followed). A user may read xattrs it may not set (security.*,
  // trusted.*): those are left out; root must set them all.
  bool CopyXattrs(const XattrSource& src, const std::string& srcShown, int destFd, const std::string* destAt, const std::string& dest) {
    if (!(flags_ & COPY_XATTRS)) return true;
    ssize_t n;
    for (;;) {
      list_.resize(list_.size() < 1024 ? 1024 : list_.size());
      n = src.List(list_.data(), list_.size());
      if (n >= 0) break;
      if (errno == ENOTSUP) return true;  // a filesystem without xattrs has none
      if (errno != ERANGE) return error.Set(errno, src.fd >= 0 ? "flistxattr" : "llistxattr", &srcShown), false;
      const ssize_t size = src.List(nullptr, 0);
      if (size < 0) return error.Set(errno, src.fd >= 0 ? "flistxattr" : "llistxattr", &srcShown), false;
      list_.resize(size + 1);
    }
    for (ssize_t start = 0; start < n;) {
      const char* name = list_.data() + start;
      const size_t len = strnlen(name, n - start);
      start += len + 1;
      if (len == 0 || IsOverlayXattr(name)) continue;
      ssize_t v;
      value_.resize(value_.size() < 256 ? 256 : value_.size());
      for (;;) {
        v = src.Get(name, value_.data(), value_.size());
        if (v >= 0 || errno != ERANGE) break;
        const ssize_t size = src.Get(name, nullptr, 0);
        if (size < 0) {
          v = -1;
          break;
        }
        value_.resize(size + 1);
      }
      if (v < 0) {
        if (errno == ENODATA) continue;  // removed since the listing
        return error.Set(errno, src.fd >= 0 ? "fgetxattr" : "lgetxattr", &srcShown), false;
      }
      const int r = destFd >= 0 ? fsetxattr(destFd, name, value_.data(), v, 0) : lsetxattr(destAt->c_str(), name, value_.data(), v, 0);
      if (r < 0) {
        if (!(flags_ & COPY_OWNERS) && errno == EPERM) continue;
        return error.Set(errno, destFd >= 0 ? "fsetxattr" : "lsetxattr", &dest), false;
      }
    }
    return true;
  }

  void CopyOne(size_t i) {
    const int64_t* st = &stats_[i * STAT_FIELDS];
    const size_t srcIndex = static_cast<size_t>(st[0]);
    const mode_t mode = static_cast<mode_t>(st[1]);
    const uid_t uid = static_cast<uid_t>(st[2]);
    const gid_t gid = static_cast<gid_t>(st[3]);
    const off_t size = static_cast<off_t>(st[4]);
    const int64_t blocks = st[5];
    const dev_t rdev = static_cast<dev_t>(st[6]);
    struct timespec times[2];
    for (int k = 0; k < 2; k++) {
      const int64_t ns = st[7 + k];
      int64_t sec = ns / 1000000000, rem = ns % 1000000000;
      if (rem < 0) sec -= 1, rem += 1000000000;
      times[k].tv_sec = static_cast<time_t>(sec);
      times[k].tv_nsec = static_cast<long>(rem);
    }
    const std::string& name = names_[i];
    const char* n = name.c_str();
    const std::string dest = dirShown_ + "/" + name;
    const int srcDir = SrcDir(srcIndex);
    if (srcDir < 0) return;
    const std::string src = srcDirs_[srcIndex] + "/" + name;
    const int dfd = dirFd_;

    switch (mode & S_IFMT) {
      case S_IFREG: {
        Fd in(openat(srcDir, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (in.fd < 0) return error.Set(errno, "openat", &src);
        Fd out(openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (out.fd < 0) return error.Set(errno, "openat", &dest);
        if (!data_.Copy(in.fd, out.fd, size, size > 0 && blocks * 512 < size, error)) {
          error.hasPath = true;
          error.path = dest;
          return;
        }
        if (!Chown(out.fd, n, uid, gid, dest)) return;
        if (!CopyXattrs({in.fd, nullptr}, src, out.fd, nullptr, dest)) return;
        if (fchmod(out.fd, mode & 07777) < 0) return error.Set(errno, "fchmod", &dest);
        if (futimens(out.fd, times) < 0) return error.Set(errno, "futimens", &dest);
        if (close(out.fd) < 0) {
          out.fd = -1;
          return error.Set(errno, "close", &dest);
        }
        out.fd = -1;
        return;
      }
      case S_IFDIR: {
        if (mkdirat(dfd, n, 0700) < 0) return error.Set(errno, "mkdirat", &dest);
        if (!Chown(-1, n, uid, gid, dest)) return;
        if (!(flags_ & COPY_XATTRS)) return;
        // opened only to set what the source has; its own listing needs no descriptor
        const std::string at = ProcPath(srcDir, name);
        const ssize_t has = llistxattr(at.c_str(), nullptr, 0);
        if (has < 0 && errno != ENOTSUP) return error.Set(errno, "llistxattr", &src);
        if (has <= 0) return;
        Fd sub(openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub.fd < 0) return error.Set(errno, "openat", &dest);
        CopyXattrs({-1, &at}, src, sub.fd, nullptr, dest);
        return;
      }
      case S_IFLNK: {
        link_.resize(size > 0 ? size + 1 : 256);
        ssize_t len;
        for (;;) {
          len = readlinkat(srcDir, n, link_.data(), link_.size());
          if (len < 0) return error.Set(errno, "readlinkat", &src);
          if (static_cast<size_t>(len) < link_.size()) break;
          link_.resize(link_.size() * 2);  // grew since the lstat
        }
        link_[len] = '\0';
        if (symlinkat(link_.data(), dfd, n) < 0) return error.Set(errno, "symlinkat", &dest);
        break;
      }
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
        if (mknodat(dfd, n, mode & S_IFMT, rdev) < 0) return error.Set(errno, "mknodat", &dest);
        break;
      default:
        return;  // sockets belong to a running process, not to a filesystem image
    }
    // a symlink or a node: by name in the directory, never following the last component
    if (!Chown(-1, n, uid, gid, dest)) return;
    if (flags_ & COPY_XATTRS) {
      const std::string srcAt = ProcPath(srcDir, name);
      const std::string destAt = ProcPath(dfd, name);
      if (!CopyXattrs({-1, &srcAt}, src, -1, &destAt, dest)) return;
    }
    if ((mode & S_IFMT) != S_IFLNK && fchmodat(dfd, n, mode & 07777, 0) < 0) return error.Set(errno, "fchmodat", &dest);
    if (utimensat(dfd, n, times, AT_SYMLINK_NOFOLLOW) < 0) return error.Set(errno, "utimensat", &dest);
  }

  // `name` in the directory open at `fd`, as a path for the l* calls (the kernel goes to the
  // directory by its descriptor, then looks `name` up without following it)
  static std::string ProcPath(int fd, const std::string& name) { return "/proc/self/fd/" + std::to_string(fd) + "/" + name; }

  int rootFd_;
  std::string dir_, dirShown_;
  int flags_;
  int64_t newUid_, newGid_;
  std::vector<std::string> srcDirs_, names_;
  std::vector<int64_t> stats_;
  // open only while Run() runs (the op is moved before it)
  int dirFd_ = -1;
  std::vector<int> srcFds_;
  DataCopier data_;
  std::vector<char> list_, value_, link_;
};

}  // namespace

void RegisterCopyEntries(Napi::Env env, Napi::Object exports) { Export<CopyEntries>(env, exports, "copyEntries"); }

}  // namespace layerfs
