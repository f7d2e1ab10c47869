// N-API glue: the Poller class JS sees, and the libuv handles that drive the Loop.
// ONE uv_poll watches the backend fd; uv_prepare and uv_check flush queued writes
// once per loop turn. Every entry point checks its arguments and throws a TypeError
// a person can read; nothing a caller passes can crash the process.
#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <sys/un.h>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "config.h"
#include "loop.h"
#include "sockets.h"

namespace {

using rw::Loop;

class Poller;

// libuv handles must outlive their uv_close callbacks, so they live apart from the
// JS object and free themselves once the last one has closed.
struct UvHandles {
  uv_poll_t poll;
  uv_prepare_t prepare;
  uv_check_t check;
  int open_handles = 0;
  Poller* owner;
};

void ThrowErrno(Napi::Env env, int err, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.ThrowAsJavaScriptException();
}

bool IntArg(const Napi::CallbackInfo& info, size_t i, const char* name, int lo, int hi, int* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(name) + " (number) expected").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int>(d))) {
    Napi::RangeError::New(info.Env(), std::string(name) + " out of range").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}
// An optional list of uids (null or undefined: none given).
bool UidsArg(const Napi::CallbackInfo& info, size_t i, std::vector<uint32_t>* uids) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return true;
  if (!info[i].IsArray()) {
    Napi::TypeError::New(info.Env(), "allowUids must be an array of uids").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array a = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 0xffffffffu) || d != static_cast<double>(static_cast<uint32_t>(d))) {
      Napi::TypeError::New(info.Env(), "allowUids must hold non-negative integers").ThrowAsJavaScriptException();
      return false;
    }
    uids->push_back(static_cast<uint32_t>(d));
  }
  return true;
}

// A string argument without NUL bytes (paths, hosts).
bool StringArg(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), std::string(name) + " (string) expected").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    Napi::TypeError::New(info.Env(), std::string(name) + " contains a NUL byte").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// [family, address, port] of a socket address, as JS sees listeners: family 'unix'
// (address the path, '@name' for the abstract namespace, '' unnamed), 'IPv4', 'IPv6'.
Napi::Array AddressInfo(Napi::Env env, const sockaddr_storage& ss, socklen_t len) {
  Napi::Array out = Napi::Array::New(env, 3);
  if (ss.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
    size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    std::string path(un->sun_path, n);
    if (!path.empty() && path[0] == '\0') path[0] = '@';
    else path = path.c_str();  // a named path ends at its NUL
    out.Set(0u, "unix");
    out.Set(1u, path);
    out.Set(2u, Napi::Number::New(env, 0));
    return out;
  }
  char text[INET6_ADDRSTRLEN] = {0};
  bool v4 = ss.ss_family == AF_INET;
  const void* a = v4 ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr)
                     : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr);
  inet_ntop(v4 ? AF_INET : AF_INET6, a, text, sizeof(text));
  uint16_t port = v4 ? reinterpret_cast<const sockaddr_in*>(&ss)->sin_port
                     : reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port;
  out.Set(0u, v4 ? "IPv4" : "IPv6");
  out.Set(1u, text);
  out.Set(2u, Napi::Number::New(env, ntohs(port)));
  return out;
}

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {
                           InstanceMethod("listenUnix", &Poller::ListenUnix),
                           InstanceMethod("listenTcp", &Poller::ListenTcp),
                           InstanceMethod("listenFd", &Poller::ListenFd),
                           InstanceMethod("closeListener", &Poller::CloseListener),
                           InstanceMethod("write", &Poller::Write),
                           InstanceMethod("writeStaged", &Poller::WriteStaged),
                           InstanceMethod("unsent", &Poller::Unsent),
                           InstanceMethod("setReading", &Poller::SetReading),
                           InstanceMethod("end", &Poller::End),
                           InstanceMethod("close", &Poller::Close),
                           InstanceMethod("peer", &Poller::Peer),
                           InstanceMethod("destroy", &Poller::Destroy),
                           InstanceAccessor("readBuffer", &Poller::ReadBuffer, nullptr),
                           InstanceAccessor("records", &Poller::Records, nullptr),
                           InstanceAccessor("stageBuffer", &Poller::StageBuffer, nullptr),
                           InstanceAccessor("stageRecords", &Poller::StageRecords, nullptr),
                           InstanceAccessor("backend", &Poller::Backend, nullptr),
                           InstanceAccessor("backendFallback", &Poller::Fallback, nullptr),
                       });
  }

  // new Poller(onBatch, { readBufferBytes, maxConnections, writeHighWaterBytes })
  explicit Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsObject()) {
      Napi::TypeError::New(env, "Poller(onBatch: function, options: object) expected")
          .ThrowAsJavaScriptException();
      return;
    }
    Napi::Object opts = info[1].As<Napi::Object>();
    double buf_bytes = NumberOption(opts, "readBufferBytes", rw::kDefaultReadBufferBytes);
    double max_conns = NumberOption(opts, "maxConnections", 10000);
    double hwm = NumberOption(opts, "writeHighWaterBytes", 1 << 20);
    if (env.IsExceptionPending()) return;
    std::string io = "epoll";
    Napi::Value io_value = opts.Get("ioBackend");
    if (!io_value.IsUndefined()) {
      io = io_value.IsString() ? io_value.As<Napi::String>().Utf8Value() : "";
      if (io != "epoll" && io != "io_uring" && io != "auto") {
        Napi::TypeError::New(env, "ioBackend must be 'epoll', 'io_uring' or 'auto'").ThrowAsJavaScriptException();
        return;
      }
    }
    if (buf_bytes < rw::kMinReadBufferBytes || buf_bytes > rw::kMaxReadBufferBytes) {
      Napi::RangeError::New(env, "readBufferBytes must be between 64 KiB and 256 MiB")
          .ThrowAsJavaScriptException();
      return;
    }
    if (max_conns < 0 || max_conns > 0x7fffffff || hwm < 1 || hwm > 0x7fffffff) {
      Napi::RangeError::New(env, "maxConnections or writeHighWaterBytes out of range")
          .ThrowAsJavaScriptException();
      return;
    }
    on_batch_ = Napi::Persistent(info[0].As<Napi::Function>());
    // The spill area past readBufferBytes holds bytes the completion loop received for
    // a connection that JS had paused meanwhile, handed over once it resumes.
    Napi::ArrayBuffer read_buf = Napi::ArrayBuffer::New(env, static_cast<size_t>(buf_bytes) + rw::kSpillBytes);
    Napi::Int32Array records = Napi::Int32Array::New(env, rw::kMaxRecords * 4);
    read_buf_ref_ = Napi::Persistent(read_buf);
    records_ref_ = Napi::Persistent(records);
    Napi::ArrayBuffer stage = Napi::ArrayBuffer::New(env, rw::kStageBytes);
    Napi::Int32Array stage_records = Napi::Int32Array::New(env, rw::kStageRecords * 2);
    stage_data_ = static_cast<uint8_t*>(stage.Data());
    stage_records_data_ = stage_records.Data();
    stage_ref_ = Napi::Persistent(stage);
    stage_records_ref_ = Napi::Persistent(stage_records);
    async_ = std::make_unique<Napi::AsyncContext>(env, "ringwire:batch", info.This().As<Napi::Object>());
    rw::LoopArgs args;
    args.read_buf = static_cast<uint8_t*>(read_buf.Data());
    args.read_buf_size = read_buf.ByteLength();
    args.records = records.Data();
    args.max_records = rw::kMaxRecords;
    args.deliver = &Poller::DeliverThunk;
    args.ctx = this;
    args.opts.max_connections = static_cast<uint32_t>(max_conns);
    args.opts.write_high_water = static_cast<size_t>(hwm);
    if (io != "epoll") {
      // io_uring where the kernel gives it; with 'auto', the readiness loop otherwise,
      // and the reason is kept for the caller to report.
      loop_ = rw::make_uring_loop(args);
      int rc = loop_ ? loop_->init() : -ENOTSUP;
      if (rc < 0) {
        fallback_ = loop_ ? loop_->init_error() : "io_uring exists on Linux only";
        loop_.reset();
        if (io == "io_uring") {
          Napi::Error e = Napi::Error::New(env, "io_uring is unavailable: " + fallback_);
          e.Set("errno", Napi::Number::New(env, -rc));
          e.Set("code", Napi::String::New(env, "RINGWIRE_IO_URING_UNAVAILABLE"));
          e.ThrowAsJavaScriptException();
          return;
        }
      }
    }
    if (!loop_) {
      loop_ = rw::make_ready_loop(args);
      int rc = loop_->init();
      if (rc < 0) {
        std::string why = loop_->init_error();
        loop_.reset();
        ThrowErrno(env, -rc, why);
        return;
      }
    }
    backend_name_ = loop_->backend_name();
    uv_loop_t* uvloop = nullptr;
    if (napi_get_uv_event_loop(env, &uvloop) != napi_ok || uvloop == nullptr) {
      loop_.reset();
      Napi::Error::New(env, "cannot get the libuv loop").ThrowAsJavaScriptException();
      return;
    }
    handles_ = new UvHandles();
    handles_->owner = this;
    if (uv_poll_init(uvloop, &handles_->poll, loop_->poll_fd()) != 0) {
      delete handles_;
      handles_ = nullptr;
      loop_.reset();
      Napi::Error::New(env, "uv_poll_init failed on the backend fd").ThrowAsJavaScriptException();
      return;
    }
    handles_->poll.data = handles_;
    uv_prepare_init(uvloop, &handles_->prepare);
    handles_->prepare.data = handles_;
    uv_check_init(uvloop, &handles_->check);
    handles_->check.data = handles_;
    handles_->open_handles = 3;
    uv_poll_start(&handles_->poll, UV_READABLE, &Poller::OnPoll);
    // The flush hooks never keep the process alive on their own; the poll does,
    // while there is a listener or a connection.
    uv_prepare_start(&handles_->prepare, &Poller::OnPrepare);
    uv_unref(reinterpret_cast<uv_handle_t*>(&handles_->prepare));
    uv_check_start(&handles_->check, &Poller::OnCheck);
    uv_unref(reinterpret_cast<uv_handle_t*>(&handles_->check));
    UpdateRef();
    napi_add_env_cleanup_hook(env, &Poller::Cleanup, this);
  }

  ~Poller() override {
    if (loop_) napi_remove_env_cleanup_hook(Env(), &Poller::Cleanup, this);
    Teardown();
  }

 private:
  static double NumberOption(Napi::Object opts, const char* name, double fallback) {
    Napi::Env env = opts.Env();
    Napi::Value v = opts.Get(name);
    if (v.IsUndefined()) return fallback;
    if (!v.IsNumber()) {
      Napi::TypeError::New(env, std::string(name) + " must be a number").ThrowAsJavaScriptException();
      return fallback;
    }
    return v.As<Napi::Number>().DoubleValue();
  }

  bool Alive(Napi::Env env) {
    if (loop_) return true;
    Napi::Error::New(env, "the poller was destroyed").ThrowAsJavaScriptException();
    return false;
  }

  // Reads a connection slot argument: a non-negative integer.
  static bool SlotArg(const Napi::CallbackInfo& info, size_t i, uint32_t* slot) {
    if (info.Length() <= i || !info[i].IsNumber()) {
      Napi::TypeError::New(info.Env(), "connection slot (number) expected").ThrowAsJavaScriptException();
      return false;
    }
    double d = info[i].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 0xffffffffu) || d != static_cast<double>(static_cast<uint32_t>(d))) {
      Napi::TypeError::New(info.Env(), "connection slot must be a non-negative integer")
          .ThrowAsJavaScriptException();
      return false;
    }
    *slot = static_cast<uint32_t>(d);
    return true;
  }



  // listenUnix(path, mode, backlog, allowUids: number[] | null) -> listener id
  Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "listenUnix(path: string, mode, backlog, allowUids)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string path = info[0].As<Napi::String>().Utf8Value();
    if (path.find('\0') != std::string::npos) {
      Napi::TypeError::New(env, "socket path contains a NUL byte").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int mode, backlog;
    if (!IntArg(info, 1, "mode", 0, 0777, &mode) || !IntArg(info, 2, "backlog", 1, 65535, &backlog))
      return env.Undefined();
    std::vector<uint32_t> uids;
    if (!UidsArg(info, 3, &uids)) return env.Undefined();
    int id = loop_->listen_unix(path.c_str(), mode, backlog, std::move(uids));
    if (id < 0) {
      ThrowErrno(env, -id, "cannot listen on " + path);
      return env.Undefined();
    }
    UpdateRef();
    return Napi::Number::New(env, id);
  }

  // listenTcp(host, port, backlog, reusePort, ipv6Only) -> [listener id, bound port]
  Napi::Value ListenTcp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    if (info.Length() < 5 || !info[0].IsString() || !info[3].IsBoolean() || !info[4].IsBoolean()) {
      Napi::TypeError::New(env, "listenTcp(host: string, port, backlog, reusePort: boolean, ipv6Only: boolean)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string host = info[0].As<Napi::String>().Utf8Value();
    int port, backlog;
    if (!IntArg(info, 1, "port", 0, 65535, &port) || !IntArg(info, 2, "backlog", 1, 65535, &backlog))
      return env.Undefined();
    int bound = 0;
    int id = loop_->listen_tcp(host.c_str(), port, backlog, info[3].As<Napi::Boolean>().Value(),
                               info[4].As<Napi::Boolean>().Value(), &bound);
    if (id < 0) {
      ThrowErrno(env, -id, "cannot listen on " + host + ":" + std::to_string(port));
      return env.Undefined();
    }
    UpdateRef();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, id));
    out.Set(1u, Napi::Number::New(env, bound));
    return out;
  }

  // listenFd(fd, allowUids: number[] | null) -> [listener id, family, address, port].
  // The fd is a listening socket someone else made (systemd, a parent process).
  Napi::Value ListenFd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    int fd;
    if (!IntArg(info, 0, "fd", 0, INT_MAX, &fd)) return env.Undefined();
    std::vector<uint32_t> uids;
    if (!UidsArg(info, 1, &uids)) return env.Undefined();
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int rc = rw::sock_adopt_listener(fd, &ss, &len);
    if (rc < 0) {
      ThrowErrno(env, -rc, "fd " + std::to_string(fd) + " is not a listening stream socket");
      return env.Undefined();
    }
    bool unix_socket = ss.ss_family == AF_UNIX;
    if (!unix_socket && !uids.empty()) {
      Napi::TypeError::New(env, "allowUids applies to Unix sockets only").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int id = loop_->adopt_listener(fd, unix_socket, std::move(uids));
    if (id < 0) {
      ThrowErrno(env, -id, "cannot watch fd " + std::to_string(fd));
      return env.Undefined();
    }
    UpdateRef();
    Napi::Array where = AddressInfo(env, ss, len);
    Napi::Array out = Napi::Array::New(env, 4);
    out.Set(0u, Napi::Number::New(env, id));
    for (uint32_t k = 0; k < 3; k++) out.Set(k + 1, where.Get(k));
    return out;
  }

  Napi::Value CloseListener(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    int id;
    if (!IntArg(info, 0, "listener id", 0, 0xffff, &id)) return env.Undefined();
    loop_->close_listener(id);
    UpdateRef();
    return env.Undefined();
  }

  // write(slot, bytes: Uint8Array) -> unsent bytes after queueing, -1 when closed,
  // -2 after end(). The hottest entry point (one call per reply): raw N-API, one call
  // per argument, since node-addon-api's TypedArray wrappers query the array 3-4 times.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    if (!Alive(info.Env())) return info.Env().Undefined();
    double d;
    if (info.Length() < 2 || napi_get_value_double(env, info[0], &d) != napi_ok || !(d >= 0 && d <= 0xffffffffu) ||
        d != static_cast<double>(static_cast<uint32_t>(d))) {
      Napi::TypeError::New(env, "write(slot: non-negative integer, bytes: Uint8Array)").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    bool is_typed = false;
    if (napi_is_typedarray(env, info[1], &is_typed) != napi_ok || !is_typed ||
        napi_get_typedarray_info(env, info[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      Napi::TypeError::New(env, "write(slot, bytes: Uint8Array)").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    long r = loop_->write(static_cast<uint32_t>(d), static_cast<const uint8_t*>(data), length);
    napi_value out;
    napi_create_double(env, static_cast<double>(r), &out);
    return Napi::Value(env, out);
  }

  // writeStaged(count): JS copied `count` writes into stageBuffer back to back and
  // described them in stageRecords as [slot, length] pairs. Each length is replaced
  // by what write() would have returned (unsent bytes, -1 closed, -2 ended).
  Napi::Value WriteStaged(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    int count;
    if (!IntArg(info, 0, "count", 0, static_cast<int>(rw::kStageRecords), &count)) return env.Undefined();
    size_t offset = 0;
    for (int i = 0; i < count; i++) {
      int32_t slot = stage_records_data_[2 * i];
      int32_t length = stage_records_data_[2 * i + 1];
      if (slot < 0 || length < 0 || static_cast<size_t>(length) > rw::kStageBytes - offset) {
        Napi::RangeError::New(env, "writeStaged: record " + std::to_string(i) + " is out of bounds")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      offset += static_cast<size_t>(length);
    }
    loop_->write_staged(stage_data_, stage_records_data_, static_cast<uint32_t>(count));
    return env.Undefined();
  }

  Napi::Value Unsent(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    uint32_t slot;
    if (!SlotArg(info, 0, &slot)) return env.Undefined();
    return Napi::Number::New(env, static_cast<double>(loop_->unsent(slot)));
  }

  Napi::Value SetReading(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    uint32_t slot;
    if (!SlotArg(info, 0, &slot)) return env.Undefined();
    if (info.Length() < 2 || !info[1].IsBoolean()) {
      Napi::TypeError::New(env, "setReading(slot, on: boolean)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    loop_->set_reading(slot, info[1].As<Napi::Boolean>().Value());
    return env.Undefined();
  }

  Napi::Value End(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    uint32_t slot;
    if (!SlotArg(info, 0, &slot)) return env.Undefined();
    loop_->end(slot);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    uint32_t slot;
    if (!SlotArg(info, 0, &slot)) return env.Undefined();
    loop_->close(slot);
    UpdateRef();
    return env.Undefined();
  }

  // peer(slot) -> { family, address, port, uid?, gid?, pid? } or null when closed
  Napi::Value Peer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    uint32_t slot;
    if (!SlotArg(info, 0, &slot)) return env.Undefined();
    const rw::Conn* c = loop_->conn(slot);
    if (!c) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    if (c->family == 0) {
      o.Set("family", "unix");
      o.Set("uid", Napi::Number::New(env, c->uid));
      o.Set("gid", Napi::Number::New(env, c->gid));
      if (c->pid >= 0) o.Set("pid", Napi::Number::New(env, c->pid));
    } else {
      char text[INET6_ADDRSTRLEN] = {0};
      inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, text, sizeof(text));
      o.Set("family", c->family == 4 ? "IPv4" : "IPv6");
      o.Set("address", text);
      o.Set("port", Napi::Number::New(env, c->port));
    }
    return o;
  }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (loop_ && loop_->delivering()) {
      // Called from inside onBatch: the Loop is on the stack below us. Close the
      // sockets now, free the Loop once the callback has returned.
      loop_->shutdown();
      destroy_pending_ = true;
      return info.Env().Undefined();
    }
    if (loop_) napi_remove_env_cleanup_hook(Env(), &Poller::Cleanup, this);
    Teardown();
    return info.Env().Undefined();
  }

  void FinishPendingDestroy() {
    if (!destroy_pending_) return;
    destroy_pending_ = false;
    if (loop_) napi_remove_env_cleanup_hook(Env(), &Poller::Cleanup, this);
    Teardown();
  }

  Napi::Value ReadBuffer(const Napi::CallbackInfo& info) { return read_buf_ref_.Value(); }
  Napi::Value Records(const Napi::CallbackInfo& info) { return records_ref_.Value(); }
  Napi::Value StageBuffer(const Napi::CallbackInfo& info) { return stage_ref_.Value(); }
  Napi::Value StageRecords(const Napi::CallbackInfo& info) { return stage_records_ref_.Value(); }
  Napi::Value Backend(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), backend_name_);
  }
  // Why io_uring was asked for ('auto') and not used; undefined when it was not asked.
  Napi::Value Fallback(const Napi::CallbackInfo& info) {
    return fallback_.empty() ? info.Env().Undefined() : Napi::String::New(info.Env(), fallback_);
  }

  void UpdateRef() {
    if (!handles_ || !loop_) return;
    auto* h = reinterpret_cast<uv_handle_t*>(&handles_->poll);
    if (loop_->has_work()) uv_ref(h);
    else uv_unref(h);
  }

  void Teardown() {
    if (handles_) {
      handles_->owner = nullptr;
      uv_poll_stop(&handles_->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&handles_->poll), &Poller::OnClosed);
      uv_close(reinterpret_cast<uv_handle_t*>(&handles_->prepare), &Poller::OnClosed);
      uv_close(reinterpret_cast<uv_handle_t*>(&handles_->check), &Poller::OnClosed);
      handles_ = nullptr;
    }
    loop_.reset();  // closes every socket and the backend fd
  }

  static void Cleanup(void* arg) { static_cast<Poller*>(arg)->Teardown(); }

  static void OnClosed(uv_handle_t* h) {
    auto* handles = static_cast<UvHandles*>(h->data);
    if (--handles->open_handles == 0) delete handles;
  }

  static Poller* Owner(void* data) {
    auto* handles = static_cast<UvHandles*>(data);
    return handles ? handles->owner : nullptr;
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    Poller* self = Owner(h->data);
    if (!self || !self->loop_) return;
    self->loop_->on_ready();
    self->FinishPendingDestroy();
    self->UpdateRef();
  }

  static void OnPrepare(uv_prepare_t* h) {
    Poller* self = Owner(h->data);
    if (!self || !self->loop_) return;
    self->loop_->on_tick();
    self->FinishPendingDestroy();
  }

  static void OnCheck(uv_check_t* h) {
    Poller* self = Owner(h->data);
    if (!self || !self->loop_) return;
    self->loop_->on_tick();
    self->FinishPendingDestroy();
  }

  // One JS call per batch. MakeCallback runs the microtask and nextTick queues when it
  // returns, so replies that handlers resolve at once are queued before the flush.
  static void DeliverThunk(void* ctx, uint32_t count) {
    auto* self = static_cast<Poller*>(ctx);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->on_batch_.MakeCallback(self->Value(), {Napi::Number::New(env, count)}, *self->async_);
    if (env.IsExceptionPending()) {
      Napi::Error err = env.GetAndClearPendingException();
      napi_fatal_exception(env, err.Value());
    }
  }

  std::unique_ptr<Loop> loop_;
  UvHandles* handles_ = nullptr;
  Napi::FunctionReference on_batch_;
  Napi::Reference<Napi::ArrayBuffer> read_buf_ref_;
  Napi::Reference<Napi::Int32Array> records_ref_;
  Napi::Reference<Napi::ArrayBuffer> stage_ref_;
  Napi::Reference<Napi::Int32Array> stage_records_ref_;
  uint8_t* stage_data_ = nullptr;
  int32_t* stage_records_data_ = nullptr;
  std::unique_ptr<Napi::AsyncContext> async_;
  bool destroy_pending_ = false;
  std::string fallback_;
  std::string backend_name_;
};

// Sockets made for other processes to accept on (ringwire serve --processes): bound
// and listening, but watched by no loop here. Each returns the fd; closeFd gives it up.

// bindUnix(path, mode, backlog) -> fd
Napi::Value BindUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int mode, backlog;
  if (!StringArg(info, 0, "path", &path) || !IntArg(info, 1, "mode", 0, 0777, &mode) ||
      !IntArg(info, 2, "backlog", 1, 65535, &backlog))
    return env.Undefined();
  int fd = rw::sock_listen_unix(path.c_str(), mode, backlog);
  if (fd < 0) {
    ThrowErrno(env, -fd, "cannot listen on " + path);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// bindTcp(host, port, backlog, ipv6Only) -> [fd, bound port]
Napi::Value BindTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string host;
  int port, backlog;
  if (!StringArg(info, 0, "host", &host) || !IntArg(info, 1, "port", 0, 65535, &port) ||
      !IntArg(info, 2, "backlog", 1, 65535, &backlog))
    return env.Undefined();
  if (info.Length() < 4 || !info[3].IsBoolean()) {
    Napi::TypeError::New(env, "ipv6Only (boolean) expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int bound = 0;
  int fd = rw::sock_listen_tcp(host.c_str(), port, backlog, false, info[3].As<Napi::Boolean>().Value(), &bound);
  if (fd < 0) {
    ThrowErrno(env, -fd, "cannot listen on " + host + ":" + std::to_string(port));
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fd));
  out.Set(1u, Napi::Number::New(env, bound));
  return out;
}

// closeFd(fd): only for fds bindUnix/bindTcp returned.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!IntArg(info, 0, "fd", 0, INT_MAX, &fd)) return env.Undefined();
  int rc = rw::sock_close(fd);
  if (rc < 0) ThrowErrno(env, -rc, "cannot close fd " + std::to_string(fd));
  return env.Undefined();
}

// sockName(fd) -> [family, address, port], for a socket some other code adopts (node:net).
Napi::Value SockName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!IntArg(info, 0, "fd", 0, INT_MAX, &fd)) return env.Undefined();
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    ThrowErrno(env, errno, "getsockname of fd " + std::to_string(fd));
    return env.Undefined();
  }
  if (ss.ss_family != AF_UNIX && ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
    ThrowErrno(env, EAFNOSUPPORT, "fd " + std::to_string(fd));
    return env.Undefined();
  }
  return AddressInfo(env, ss, len);
}

// sendDatagram(path, text): sd_notify's one datagram to NOTIFY_SOCKET.
Napi::Value SendDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, text;
  if (!StringArg(info, 0, "path", &path) || !StringArg(info, 1, "text", &text)) return env.Undefined();
  int rc = rw::sock_send_datagram(path.c_str(), text.data(), text.size());
  if (rc < 0) ThrowErrno(env, -rc, "cannot send to " + path);
  return env.Undefined();
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("bindUnix", Napi::Function::New(env, BindUnix, "bindUnix"));
  exports.Set("bindTcp", Napi::Function::New(env, BindTcp, "bindTcp"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("sockName", Napi::Function::New(env, SockName, "sockName"));
  exports.Set("sendDatagram", Napi::Function::New(env, SendDatagram, "sendDatagram"));
  exports.Set("Poller", Poller::Init(env));
  exports.Set("backend", Napi::String::New(env, rw::backend_name()));
  return exports;
}

}  // namespace

NODE_API_MODULE(ringwire, InitModule)
