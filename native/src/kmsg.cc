#include "kmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

namespace layerfs {

KmsgCursor::KmsgCursor() {
  fd_ = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ >= 0 && lseek(fd_, 0, SEEK_END) < 0) {
    close(fd_);
    fd_ = -1;
  }
}

KmsgCursor::~KmsgCursor() {
  if (fd_ >= 0) close(fd_);
}

std::vector<std::string> KmsgCursor::Since(const std::string& prefix) {
  std::vector<std::string> lines;
  if (fd_ < 0) return lines;
  char buf[8192];
  for (;;) {
    // One record per read: "PRI,SEQ,USEC,FLAGS;TEXT\n" then continuation lines.
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EPIPE) continue;  // records were overwritten meanwhile; go on
    if (n <= 0) break;
    const std::string record(buf, n);
    const size_t semi = record.find(';');
    if (semi == std::string::npos) continue;
    const int pri = atoi(record.c_str());
    if ((pri >> 3) != 0) continue;  // facility 0 is the kernel; others were written by processes
    const size_t end = record.find('\n', semi);
    const std::string text = record.substr(semi + 1, end == std::string::npos ? std::string::npos : end - semi - 1);
    if (text.compare(0, prefix.size(), prefix) != 0) continue;
    const int level = pri & 7;
    lines.push_back(std::string(level <= 3 ? "e " : level == 4 ? "w " : "i ") + text);
  }
  return lines;
}

}  // namespace layerfs
