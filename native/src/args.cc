#include "args.h"

#include <cmath>

namespace layerfs {

void ThrowArgError(Napi::Env env, const char* code, const std::string& message) {
  // Node throws a RangeError for values out of range and a TypeError for the rest.
  Napi::Error e = std::string(code) == "ERR_OUT_OF_RANGE" ? Napi::Error(Napi::RangeError::New(env, message))
                                                          : Napi::Error(Napi::TypeError::New(env, message));
  e.Value().Set("code", Napi::String::New(env, code));
  throw e;
}

static std::string BufferBytes(const Napi::Value& v) {
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return std::string(reinterpret_cast<const char*>(a.Data()), a.ByteLength());
}

std::string PathValue(Napi::Env env, const Napi::Value& v, const std::string& name) {
  std::string out;
  if (v.IsString()) {
    out = v.As<Napi::String>().Utf8Value();
  } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    out = BufferBytes(v);
  } else {
    ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"" + name + "\" argument must be of type string or an instance of Buffer");
  }
  if (out.find('\0') != std::string::npos) {
    ThrowArgError(env, "ERR_INVALID_ARG_VALUE", "The argument '" + name + "' must be a string or Buffer without null bytes");
  }
  return out;
}

std::string PathArg(const Napi::CallbackInfo& info, size_t i, const std::string& name) {
  return PathValue(info.Env(), info[i], name);
}

std::optional<std::string> OptionalPathArg(const Napi::CallbackInfo& info, size_t i, const std::string& name) {
  if (info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return PathArg(info, i, name);
}

std::string BytesArg(const Napi::CallbackInfo& info, size_t i, const std::string& name) {
  const Napi::Value v = info[i];
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) return BufferBytes(v);
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  ThrowArgError(info.Env(), "ERR_INVALID_ARG_TYPE", "The \"" + name + "\" argument must be an instance of Buffer or a string");
}

int64_t IntegerValue(Napi::Env env, const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) ThrowArgError(env, "ERR_INVALID_ARG_TYPE", "The \"" + name + "\" argument must be of type number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9007199254740991.0) {
    ThrowArgError(env, "ERR_OUT_OF_RANGE", "The \"" + name + "\" argument must be an integer");
  }
  return static_cast<int64_t>(d);
}

int64_t IntegerArg(const Napi::CallbackInfo& info, size_t i, const std::string& name, std::optional<int64_t> fallback) {
  if (fallback && info[i].IsUndefined()) return *fallback;
  return IntegerValue(info.Env(), info[i], name);
}

}  // namespace layerfs
