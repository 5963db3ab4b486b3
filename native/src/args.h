// Reading JS arguments into plain C++ values, with Node-style TypeErrors
// (ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE) naming the argument.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace layerfs {

// A path as a string (UTF-8) or a Buffer (taken byte for byte, for names that are not UTF-8).
// Embedded NUL bytes are refused: the kernel would silently cut the path there.
std::string PathValue(Napi::Env env, const Napi::Value& v, const std::string& name);
std::string PathArg(const Napi::CallbackInfo& info, size_t i, const std::string& name);

// Like PathArg, but null or undefined gives nullopt.
std::optional<std::string> OptionalPathArg(const Napi::CallbackInfo& info, size_t i, const std::string& name);

// Raw bytes from a Buffer/Uint8Array (or a string, as UTF-8); NUL bytes allowed.
std::string BytesArg(const Napi::CallbackInfo& info, size_t i, const std::string& name);

// An integral number; `fallback` is used when the argument is missing or undefined.
int64_t IntegerValue(Napi::Env env, const Napi::Value& v, const std::string& name);
int64_t IntegerArg(const Napi::CallbackInfo& info, size_t i, const std::string& name,
                   std::optional<int64_t> fallback = std::nullopt);

[[noreturn]] void ThrowArgError(Napi::Env env, const char* code, const std::string& message);

}  // namespace layerfs
