// The copy driver's stat snapshot (lib/diff/stat-snapshot-file.ts writes the same file in JS):
// every entry of a tree, root first, depth first, each directory's names in byte order, one
// line each: path ino btime size mode uid gid mtime ctime nlink rdev [target], times in ns,
// path and target escaped as lib/names and the JS writer do (\\, \t, \n; \xNN for a byte that is
// not part of valid UTF-8). Directories are opened from the root one component at a time with
// O_NOFOLLOW: nothing is listed or stat'ed through a symlink.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "args.h"
#include "op.h"
#include "register.h"

namespace layerfs {
namespace {

constexpr const char* HEADER = "layerfs-copy-manifest 1\n";
constexpr size_t FLUSH_AT = 1 << 20;

// How many bytes the valid UTF-8 sequence at s[i] takes, or 0 (RFC 3629, as lib/names/escape.ts).
size_t SequenceLength(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) { return i + k < s.size() && b(i + k) >= lo && b(i + k) <= hi; };
  const unsigned c = b(i);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

void AppendEscaped(std::string& out, const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    if (n == 0) {
      const unsigned c = static_cast<unsigned char>(s[i++]);
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      continue;
    }
    if (n == 1) {
      const char c = s[i];
      if (c == '\\') out += "\\\\";
      else if (c == '\t') out += "\\t";
      else if (c == '\n') out += "\\n";
      else out += c;
    } else {
      out.append(s, i, n);
    }
    i += n;
  }
}

int64_t Ns(const struct statx_timestamp& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

class WriteStatSnapshot {
 public:
  explicit WriteStatSnapshot(const Napi::CallbackInfo& info) : root_(PathArg(info, 0, "root")), file_(PathArg(info, 1, "file")) {}

  void Run() {
    const int rootFd = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootFd < 0) return error.Set(errno, "open", &root_);
    out_ = open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out_ < 0) {
      close(rootFd);
      return error.Set(errno, "open", &file_);
    }
    buf_ = HEADER;
    struct statx st;
    if (statx(rootFd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &st) < 0) {
      error.Set(errno, "statx", &root_);
    } else {
      Line("/", st, nullptr);
      Walk(rootFd, "");
    }
    close(rootFd);
    if (!error.err) Flush();
    if (close(out_) < 0 && !error.err) error.Set(errno, "close", &file_);
  }

  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  SysError error;

 private:
  // the entries under the directory open at `fd`, whose path in the tree is `rel` ('' for the root)
  void Walk(int fd, const std::string& rel) {
    std::vector<std::string> names;
    const std::string shown = root_ + rel;
    const int dupFd = dup(fd);
    if (dupFd < 0) return error.Set(errno, "dup", &shown);
    DIR* d = fdopendir(dupFd);
    if (!d) {
      close(dupFd);
      return error.Set(errno, "fdopendir", &shown);
    }
    errno = 0;
    for (struct dirent* e; (e = readdir(d)) != nullptr; errno = 0) {
      const char* n = e->d_name;
      if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
      names.emplace_back(n);
    }
    const int readErr = errno;
    closedir(d);
    if (readErr) return error.Set(readErr, "readdir", &shown);
    std::sort(names.begin(), names.end());  // char_traits<char> compares as unsigned bytes
    for (const std::string& name : names) {
      const std::string path = rel + "/" + name;
      struct statx st;
      if (statx(fd, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &st) < 0) {
        if (errno == ENOENT) continue;  // removed since the listing
        const std::string p = root_ + path;
        return error.Set(errno, "statx", &p);
      }
      if (S_ISLNK(st.stx_mode)) {
        std::string target(st.stx_size > 0 ? st.stx_size + 1 : 256, '\0');
        ssize_t n;
        for (;;) {
          n = readlinkat(fd, name.c_str(), target.data(), target.size());
          if (n < 0) {
            const std::string p = root_ + path;
            return error.Set(errno, "readlinkat", &p);
          }
          if (static_cast<size_t>(n) < target.size()) break;
          target.resize(target.size() * 2);
        }
        target.resize(n);
        Line(path, st, &target);
      } else {
        Line(path, st, nullptr);
      }
      if (error.err) return;
      if (!S_ISDIR(st.stx_mode)) continue;
      const int sub = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT) continue;  // no longer a directory
        const std::string p = root_ + path;
        return error.Set(errno, "openat", &p);
      }
      Walk(sub, path);
      close(sub);
      if (error.err) return;
    }
  }

  void Line(const std::string& path, const struct statx& st, const std::string* target) {
    AppendEscaped(buf_, path);
    const int64_t btime = (st.stx_mask & STATX_BTIME) ? Ns(st.stx_btime) : 0;
    const uint64_t rdev = makedev(st.stx_rdev_major, st.stx_rdev_minor);
    for (const std::string& f : {std::to_string(st.stx_ino), std::to_string(btime), std::to_string(st.stx_size), std::to_string(st.stx_mode),
                                 std::to_string(st.stx_uid), std::to_string(st.stx_gid), std::to_string(Ns(st.stx_mtime)), std::to_string(Ns(st.stx_ctime)),
                                 std::to_string(st.stx_nlink), std::to_string(rdev)}) {
      buf_ += '\t';
      buf_ += f;
    }
    if (target) {
      buf_ += '\t';
      AppendEscaped(buf_, *target);
    }
    buf_ += '\n';
    if (buf_.size() >= FLUSH_AT) Flush();
  }

  void Flush() {
    for (size_t off = 0; off < buf_.size();) {
      const ssize_t n = write(out_, buf_.data() + off, buf_.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return error.Set(errno, "write", &file_);
      }
      off += n;
    }
    buf_.clear();
  }

  std::string root_, file_;
  int out_ = -1;
  std::string buf_;
};

}  // namespace

void RegisterStatSnapshot(Napi::Env env, Napi::Object exports) { Export<WriteStatSnapshot>(env, exports, "writeStatSnapshot"); }

}  // namespace layerfs
