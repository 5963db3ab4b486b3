// releaseBuffer(arrayBuffer): detaches an ArrayBuffer, so that its memory is given back now
// rather than at the next garbage collection that finds it dead. A pull reads a gigabyte of
// socket buffers of 64 KiB; left to the collector they pile up to tens of megabytes between
// the mark-compacts that external memory forces. The caller must hold the only views of it.
#include <napi.h>

#include "register.h"

namespace layerfs {

static Napi::Value ReleaseBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "releaseBuffer: an ArrayBuffer is expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  bool detached = false;
  if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) return Napi::Boolean::New(env, false);
  // one that cannot be detached (wasm memory, a non-detachable backing store) is left as it is: false
  return Napi::Boolean::New(env, napi_detach_arraybuffer(env, ab) == napi_ok);
}

void RegisterReleaseBuffer(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseBuffer", Napi::Function::New(env, ReleaseBuffer, "releaseBuffer"));
}

}  // namespace layerfs
