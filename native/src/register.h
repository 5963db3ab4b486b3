// Each source file adds its functions to the module's exports.
#pragma once

#include <napi.h>

namespace layerfs {

void RegisterConstants(Napi::Env env, Napi::Object exports);
void RegisterXattr(Napi::Env env, Napi::Object exports);
void RegisterNodes(Napi::Env env, Napi::Object exports);
void RegisterMount(Napi::Env env, Napi::Object exports);
void RegisterFsmount(Napi::Env env, Napi::Object exports);
void RegisterFlock(Napi::Env env, Napi::Object exports);
void RegisterCopyFd(Napi::Env env, Napi::Object exports);
void RegisterCopyEntries(Napi::Env env, Napi::Object exports);
void RegisterStatSnapshot(Napi::Env env, Napi::Object exports);
void RegisterUtimens(Napi::Env env, Napi::Object exports);
void RegisterReadFileAt(Napi::Env env, Napi::Object exports);
void RegisterMountRoot(Napi::Env env, Napi::Object exports);
void RegisterReleaseBuffer(Napi::Env env, Napi::Object exports);

}  // namespace layerfs
