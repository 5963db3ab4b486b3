// The kernel log since a point in time, for filesystems that report why a mount failed with
// printk (dmesg) rather than into the fs context's log (overlayfs does, for most errors).
#pragma once

#include <string>
#include <vector>

namespace layerfs {

class KmsgCursor {
 public:
  // Marks the current end of the kernel log; without access to /dev/kmsg (no CAP_SYSLOG,
  // no such device in a container) the cursor stays empty and Since() returns nothing.
  KmsgCursor();
  ~KmsgCursor();
  KmsgCursor(const KmsgCursor&) = delete;
  KmsgCursor& operator=(const KmsgCursor&) = delete;

  // Kernel messages logged since the mark whose text starts with `prefix` (e.g. "overlay"
  // matches "overlayfs: ..."), as fs-context style lines: "e overlayfs: failed to resolve ...".
  std::vector<std::string> Since(const std::string& prefix);

 private:
  int fd_ = -1;
};

}  // namespace layerfs
