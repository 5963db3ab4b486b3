// The data of a regular file copied between two open descriptors, holes kept (see copy-fd.cc):
// shared by copyFd and the copy driver's copyEntries.
#pragma once

#include <sys/types.h>

#include <vector>

#include "errors.h"

namespace layerfs {

class DataCopier {
 public:
  // `size` bytes of `in` into the new, empty `out`. `sparse`: the source may have holes, so only
  // its data extents are copied and the size set by ftruncate; else the whole range is copied.
  // A reflink is tried first until one fails for not being possible here. Errors go to `error`
  // (their path left for the caller to add); returns false on one.
  bool Copy(int in, int out, off_t size, bool sparse, SysError& error);

  bool cloned() const { return cloned_; }
  off_t copied() const { return copied_; }

 private:
  bool CopyRange(int in, int out, off_t start, off_t len, SysError& error);

  bool canClone_ = true;
  bool noOffload_ = false;
  bool cloned_ = false;
  off_t copied_ = 0;
  std::vector<char> buf_;
};

}  // namespace layerfs
