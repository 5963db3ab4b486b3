// The flag values, taken from the system headers; lib/native checks its own table against these.
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/xattr.h>

#include "register.h"
#include "syscalls.h"

namespace layerfs {

void RegisterConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, double value) { c.Set(name, Napi::Number::New(env, value)); };
  set("MS_RDONLY", MS_RDONLY);
  set("MS_NOSUID", MS_NOSUID);
  set("MS_NODEV", MS_NODEV);
  set("MS_NOEXEC", MS_NOEXEC);
  set("MS_REMOUNT", MS_REMOUNT);
  set("MS_BIND", MS_BIND);
  set("MS_REC", MS_REC);
  set("MS_PRIVATE", MS_PRIVATE);
  set("MNT_FORCE", MNT_FORCE);
  set("MNT_DETACH", MNT_DETACH);
  set("UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW);
  set("RENAME_NOREPLACE", RENAME_NOREPLACE);
  set("RENAME_EXCHANGE", RENAME_EXCHANGE);
  set("RENAME_WHITEOUT", RENAME_WHITEOUT);
  set("XATTR_CREATE", XATTR_CREATE);
  set("XATTR_REPLACE", XATTR_REPLACE);
  set("LOCK_SH", LOCK_SH);
  set("LOCK_EX", LOCK_EX);
  set("LOCK_NB", LOCK_NB);
  set("LOCK_UN", LOCK_UN);
  set("MOUNT_ATTR_RDONLY", MOUNT_ATTR_RDONLY);
  set("MOUNT_ATTR_NOSUID", MOUNT_ATTR_NOSUID);
  set("MOUNT_ATTR_NODEV", MOUNT_ATTR_NODEV);
  set("MOUNT_ATTR_NOEXEC", MOUNT_ATTR_NOEXEC);
  c.Freeze();
  exports.Set("constants", c);
}

}  // namespace layerfs
