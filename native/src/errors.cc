#include "errors.h"

#include <uv.h>

namespace layerfs {

void SysError::Set(int e, const char* sc, const std::string* p, const std::string* d) {
  err = e;
  syscall = sc;
  hasPath = p != nullptr;
  if (p) path = *p;
  hasDest = d != nullptr;
  if (d) dest = *d;
}

Napi::Error MakeSysError(Napi::Env env, const SysError& e) {
  // libuv's names and texts are what Node's fs errors use, so callers can match on `code`.
  const int uverr = -e.err;
  const std::string code = uv_err_name(uverr);
  std::string msg = code + ": " + uv_strerror(uverr) + ", " + e.syscall;
  if (e.hasPath) msg += " '" + e.path + "'";
  if (e.hasDest) msg += " -> '" + e.dest + "'";
  if (!e.detail.empty()) msg += " " + e.detail;
  if (!e.kernelLog.empty()) {
    msg += ":";
    for (const std::string& line : e.kernelLog) {
      // Drop the severity letter ("e ", "w ", "i "); the raw lines stay in `kernelLog`.
      const bool tagged = line.size() > 2 && line[1] == ' ';
      msg += " " + (tagged ? line.substr(2) : line) + ";";
    }
    msg.pop_back();
  }

  Napi::Error error = Napi::Error::New(env, msg);
  Napi::Object o = error.Value();
  o.Set("errno", Napi::Number::New(env, uverr));
  o.Set("code", Napi::String::New(env, code));
  o.Set("syscall", Napi::String::New(env, e.syscall));
  if (e.hasPath) o.Set("path", Napi::String::New(env, e.path));
  if (e.hasDest) o.Set("dest", Napi::String::New(env, e.dest));
  if (!e.kernelLog.empty()) {
    Napi::Array log = Napi::Array::New(env, e.kernelLog.size());
    for (size_t i = 0; i < e.kernelLog.size(); i++) log.Set(i, Napi::String::New(env, e.kernelLog[i]));
    o.Set("kernelLog", log);
  }
  return error;
}

}  // namespace layerfs
