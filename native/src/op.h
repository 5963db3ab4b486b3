// Every operation is written once, as a class with a constructor that reads the JS arguments,
// Run() that makes the system calls (no N-API, so it can run on a libuv pool thread) and
// Result() that builds the JS value. Export() makes the `nameSync` and the promise-returning
// `name` variants from it.
#pragma once

#include <napi.h>

#include <utility>

#include "errors.h"

namespace layerfs {

template <typename Op>
Napi::Value CallSync(const Napi::CallbackInfo& info) {
  Op op(info);
  op.Run();
  if (op.error.err) throw MakeSysError(info.Env(), op.error);
  return op.Result(info.Env());
}

template <typename Op>
class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, Op&& op)
      : Napi::AsyncWorker(env, "layerfs"), op_(std::move(op)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { op_.Run(); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (op_.error.err) {
      deferred_.Reject(MakeSysError(env, op_.error).Value());
      return;
    }
    try {
      deferred_.Resolve(op_.Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Op op_;
  Napi::Promise::Deferred deferred_;
};

template <typename Op>
Napi::Value CallAsync(const Napi::CallbackInfo& info) {
  auto* worker = new OpWorker<Op>(info.Env(), Op(info));  // argument errors throw before this
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK
  return promise;
}

template <typename Op>
void Export(Napi::Env env, Napi::Object exports, const std::string& name) {
  const std::string sync = name + "Sync";
  exports.Set(sync, Napi::Function::New(env, CallSync<Op>, sync));
  exports.Set(name, Napi::Function::New(env, CallAsync<Op>, name));
}

}  // namespace layerfs
