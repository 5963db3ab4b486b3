// The mount on one path without reading /proc/self/mountinfo, whose size grows with every
// container mounted on the machine (a check before every mount and after every unmount, and the
// check of a new overlay's options, each read and parsed all of it).
//
// mountRoot(path): whether `path` (symlinks followed, as a lookup of mountinfo by its real path
// would) is the root of a mount, from one statx (STATX_ATTR_MOUNT_ROOT, Linux 5.8+): 1 or 0, or
// -1 when the kernel does not say (the caller then reads mountinfo).
//
// statMount(path): the topmost mount on `path`, from statx (STATX_MNT_ID_UNIQUE) and statmount
// (Linux 6.8; its options since 6.11): {fstype, source, readOnly, options} with the options as
// mountinfo writes its superblock options (escaped, without the leading rw or ro), false when
// nothing is mounted on `path`, or null when the kernel cannot tell (then mountinfo is read).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "op.h"
#include "register.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef SYS_statmount
#define SYS_statmount 457
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

// The kernel's struct mnt_id_req and struct statmount (linux/mount.h since 6.8; the headers this
// builds with may be older), as far as they are read here.
struct MntIdReq {
  uint32_t size;
  uint32_t spare;
  uint64_t mnt_id;
  uint64_t param;
};
struct StatmountHead {
  uint32_t size;
  uint32_t mnt_opts;
  uint64_t mask;
  uint32_t sb_dev_major, sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags;
  uint32_t fs_type;
  uint64_t mnt_id, mnt_parent_id;
  uint32_t mnt_id_old, mnt_parent_id_old;
  uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
  uint32_t mnt_root, mnt_point;
  uint64_t mnt_ns_id;
  uint32_t fs_subtype, sb_source;
  uint32_t opt_num, opt_array, opt_sec_num, opt_sec_array;
  uint64_t spare2[46];
};
constexpr uint64_t STATMOUNT_SB_BASIC = 0x1, STATMOUNT_FS_TYPE = 0x20, STATMOUNT_MNT_OPTS = 0x80, STATMOUNT_FS_SUBTYPE = 0x100, STATMOUNT_SB_SOURCE = 0x200;
constexpr uint32_t SB_RDONLY_FLAG = 1;
constexpr uint32_t MNT_ID_REQ_SIZE_VER0 = 24;

class StatMount {
 public:
  explicit StatMount(const Napi::CallbackInfo& info) : path_(PathArg(info, 0, "path")) {}

  void Run() {
    struct statx st;
    if (statx(AT_FDCWD, path_.c_str(), AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MNT_ID_UNIQUE, &st) < 0) return error.Set(errno, "statx", &path_);
    if (!(st.stx_mask & STATX_MNT_ID_UNIQUE) || !(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return;  // unknown
    if (!(st.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
      state_ = kNotMounted;
      return;
    }
    MntIdReq req{MNT_ID_REQ_SIZE_VER0, 0, st.stx_mnt_id, STATMOUNT_SB_BASIC | STATMOUNT_FS_TYPE | STATMOUNT_MNT_OPTS | STATMOUNT_FS_SUBTYPE | STATMOUNT_SB_SOURCE};
    buf_.resize(16 << 10);
    for (;;) {
      if (syscall(SYS_statmount, &req, buf_.data(), buf_.size(), 0) == 0) break;
      if (errno == EOVERFLOW && buf_.size() < (16u << 20)) {
        buf_.resize(buf_.size() * 4);
        continue;
      }
      // no statmount (ENOSYS), or one that knows none of these (EINVAL), or the mount went (ENOENT): mountinfo decides
      return;
    }
    StatmountHead h;
    std::memcpy(&h, buf_.data(), sizeof h);
    const uint64_t need = STATMOUNT_SB_BASIC | STATMOUNT_FS_TYPE | STATMOUNT_MNT_OPTS;
    // no options bit: a kernel before 6.11, or a mount with no options of its own; mountinfo tells
    if ((h.mask & need) != need) return;
    const char* str = buf_.data() + sizeof h;
    const size_t room = buf_.size() - sizeof h;
    auto at = [&](uint32_t off) { return off < room ? std::string(str + off, strnlen(str + off, room - off)) : std::string(); };
    fstype_ = at(h.fs_type);
    // mountinfo writes fuse.sshfs where statmount has the type and subtype apart
    if (h.mask & STATMOUNT_FS_SUBTYPE) {
      const std::string subtype = at(h.fs_subtype);
      if (!subtype.empty()) fstype_ += "." + subtype;
    }
    options_ = at(h.mnt_opts);
    if (h.mask & STATMOUNT_SB_SOURCE) source_ = at(h.sb_source);
    readOnly_ = (h.sb_flags & SB_RDONLY_FLAG) != 0;
    state_ = kMounted;
  }

  Napi::Value Result(Napi::Env env) {
    if (state_ == kUnknown) return env.Null();
    if (state_ == kNotMounted) return Napi::Boolean::New(env, false);
    Napi::Object o = Napi::Object::New(env);
    o.Set("fstype", Napi::String::New(env, fstype_));
    o.Set("source", Napi::String::New(env, source_));
    o.Set("readOnly", Napi::Boolean::New(env, readOnly_));
    // bytes as mountinfo has them (escaped), one character each, as mountinfo is read
    napi_value options;
    NAPI_THROW_IF_FAILED(env, napi_create_string_latin1(env, options_.data(), options_.size(), &options), Napi::Value());
    o.Set("options", Napi::Value(env, options));
    return o;
  }

  SysError error;

 private:
  enum State { kUnknown, kNotMounted, kMounted };
  std::string path_;
  State state_ = kUnknown;
  std::vector<char> buf_;
  std::string fstype_, source_, options_;
  bool readOnly_ = false;
};

}  // namespace

void RegisterMountRoot(Napi::Env env, Napi::Object exports) {
  Export<MountRoot>(env, exports, "mountRoot");
  Export<StatMount>(env, exports, "statMount");
}

}  // namespace layerfs
