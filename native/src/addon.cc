// The layerfs addon: the system calls Node's fs lacks. Every call has a synchronous
// `nameSync` (for worker threads) and a promise-returning `name` that runs on the libuv pool.
#include <napi.h>

#include "register.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace layerfs;
  RegisterConstants(env, exports);
  RegisterXattr(env, exports);
  RegisterNodes(env, exports);
  RegisterMount(env, exports);
  RegisterFsmount(env, exports);
  RegisterFlock(env, exports);
  RegisterCopyFd(env, exports);
  RegisterCopyEntries(env, exports);
  RegisterStatSnapshot(env, exports);
  RegisterUtimens(env, exports);
  RegisterReadFileAt(env, exports);
  RegisterMountRoot(env, exports);
  RegisterReleaseBuffer(env, exports);
  return exports;
}

NODE_API_MODULE(layerfs, Init)
