// alignedBuffer(bytes): a Buffer whose memory starts on a 4096-byte boundary, for writes with
// O_DIRECT (the kernel wants the memory, the offset and the length aligned to the device's
// blocks). Node's own Buffers are only 16-byte aligned. Freed when the Buffer is collected.
//
// releaseBuffer(arrayBuffer): detaches an ArrayBuffer, so that its memory is given back now
// rather than at the next garbage collection that finds it dead. A pull reads a gigabyte of
// socket buffers of 64 KiB; left to the collector they pile up to tens of megabytes between
// the mark-compacts that external memory forces. The caller must hold the only views of it.
#include <napi.h>
#include <stdlib.h>
#include <string.h>

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

static constexpr size_t kDirectAlign = 4096;

static Napi::Value AlignedBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "alignedBuffer: a byte count is expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n > 0) || n > (1 << 30) || static_cast<double>(static_cast<size_t>(n)) != n || static_cast<size_t>(n) % kDirectAlign != 0) {
    Napi::RangeError::New(env, "alignedBuffer: the size must be a positive multiple of 4096, at most 1 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t size = static_cast<size_t>(n);
  void* p = nullptr;
  int err = posix_memalign(&p, kDirectAlign, size);
  if (err != 0 || p == nullptr) {
    Napi::Error::New(env, std::string("alignedBuffer: ") + strerror(err)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(p), size, [](Napi::Env, uint8_t* data) { free(data); });
}

void RegisterReleaseBuffer(Napi::Env env, Napi::Object exports) {
  exports.Set("alignedBuffer", Napi::Function::New(env, AlignedBuffer, "alignedBuffer"));
  exports.Set("releaseBuffer", Napi::Function::New(env, ReleaseBuffer, "releaseBuffer"));
}

}  // namespace layerfs
