// Node-style system errors: code, negative errno, syscall, path, dest, like Node's own fs errors.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace layerfs {

// The outcome of one system call, filled on a worker thread and turned into a JS error
// on the main thread (no N-API calls are allowed off the main thread).
struct SysError {
  int err = 0;               // errno; 0 means success
  std::string syscall;
  std::string path;
  bool hasPath = false;
  std::string dest;
  bool hasDest = false;
  std::string detail;        // appended to the message, e.g. which fsconfig parameter failed
  std::vector<std::string> kernelLog;  // fs-context log lines ("e overlay: ...")

  // Records errno for `syscall` on `path` (and `dest`, when given).
  void Set(int e, const char* sc, const std::string* p = nullptr, const std::string* d = nullptr);
};

// `EPERM: operation not permitted, lsetxattr '/x'` with code, errno, syscall, path and dest.
Napi::Error MakeSysError(Napi::Env env, const SysError& e);

}  // namespace layerfs
