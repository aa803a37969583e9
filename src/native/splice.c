/*
 * splice(2) relay for hellogate's data phase (src/relay/splice.ts is its only caller).
 *
 * Once the hello is written and Node holds no bytes of a connection, the worker hands the two socket
 * file descriptors over; from then on bytes move socket -> pipe -> socket inside the kernel, with no
 * JavaScript, no Buffer and no user-space copy per chunk, until the connection ends. Then one JS
 * callback `onEnd(slot, bytesUp, bytesDown, errno)` tells the worker, which closes both sockets.
 *
 * Contract:
 *  - Runs on the calling thread's own libuv loop (napi_get_uv_event_loop): one epoll set per thread,
 *    itself watched by one uv_poll_t on that loop; no thread, no lock, no cross-thread message, and the
 *    end callback is a plain call on the worker's thread. The set is our own, not a uv_poll_t per socket,
 *    so that a handed-over connection costs sizeof(conn_t) (tens of bytes) rather than two libuv handles
 *    (2 x 160 bytes): an idle connection must stay cheaper than HAProxy's.
 *  - The caller has stopped Node's reads on both sockets and has no write pending, and never touches
 *    either socket again until onEnd (or its own stop()); libuv drops the fds from its own epoll set
 *    lazily, on their next event.
 *  - Per direction: readable -> splice(in -> pipe), then splice(pipe -> out). When `out` would block the
 *    direction stops reading `in` and waits for `out` to be writable: at most one pipe of bytes in flight
 *    per direction (backpressure). EOF on `in` once the pipe is drained -> shutdown(out, SHUT_WR), the
 *    other direction keeps flowing (half-close); when the other direction is already done the FIN is
 *    left to the close(2) that follows (one syscall fewer, as the JS relay does).
 *  - Pipes come from a small per-loop pool and are held only while a direction has bytes in one: an
 *    idle connection holds no pipe, no fd beyond its two sockets, and sizeof(conn_t) of memory.
 *  - Both directions done, or an error: both fds leave the epoll set FIRST, then onEnd is called once.
 *    stop(slot) does the same without the callback (idle timeout, drain, shutdown). The sockets' fds are
 *    never closed here: Node closes them afterwards, when no watcher of ours is left on them. Events
 *    carry the slot and its generation, so an event of a connection released earlier in the same batch
 *    is recognised and dropped.
 *  - Bytes are added to the worker's shared counters (a Float64Array) per chunk as they are written on.
 *  - Worker exit with connections still handed over: an async cleanup hook releases them, closes the
 *    pipes, the watcher and the epoll set before the loop is closed.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

/* bytes asked per splice call: the default pipe capacity (16 pages), one pipe of bytes in flight */
#define CHUNK (64 * 1024)
/* splice rounds per readiness event before yielding to the loop (epoll is level-triggered, the rest
 * is picked up on the next iteration): one busy connection cannot starve the others */
#define ROUNDS_PER_EVENT 8
/* empty pipes kept for reuse per loop: enough for the directions busy at one moment on one worker;
 * more are created on demand and closed when they come back */
#define PIPE_POOL_MAX 64
/* readiness events taken from the relay's epoll set per loop turn (level-triggered: the rest next turn) */
#define EVENTS_PER_TURN 128

typedef struct state_s state_t;

typedef struct dir_s {
  int in;
  int out;
  int pipe_r;
  int pipe_w;
  size_t pending; /* bytes in the pipe */
  double bytes;   /* bytes written to `out` */
  uint8_t eof;     /* `in` returned EOF */
  uint8_t done;    /* EOF seen and the pipe drained: FIN passed on */
  uint8_t blocked; /* `out` would block with bytes in the pipe */
  int counter;     /* index in the shared counters */
} dir_t;

typedef struct conn_s {
  state_t *st;
  dir_t up;     /* client -> origin */
  dir_t down;   /* origin -> client */
  uint32_t gen; /* bumped when the slot is released: events tagged with an older one are stale */
  int slot;
  uint8_t ec;   /* epoll events registered for the client fd / the origin fd, NOT_ADDED before */
  uint8_t eo;
  uint8_t live;
} conn_t;

/* conn_t.ec/eo before the fd is in the epoll set (EPOLLIN|EPOLLOUT fit in the low byte) */
#define NOT_ADDED 0xff

struct state_s {
  napi_env env;
  uv_loop_t *loop;
  int epfd;          /* this loop's own epoll set, watched by `watcher` */
  uv_poll_t watcher;
  napi_ref counters_ref;
  napi_ref scratch_ref;
  napi_ref on_end;
  napi_async_context async_ctx;
  double *counters;
  int up_index;
  int down_index;
  double *scratch;   /* stop(): bytes up, bytes down */
  conn_t *conns;     /* by slot; an idle connection costs sizeof(conn_t) here and nothing else */
  int *free_next;    /* unused slots chain through it from free_head */
  int nslots;
  int free_head;
  int live;          /* connections handed over and not ended */
  int pool[PIPE_POOL_MAX * 2];
  int npool;
  napi_async_cleanup_hook_handle cleanup;
  int shutting_down;
};

/* ---- pipes ---- */

static int pipe_take (state_t *st, dir_t *d) {
  if (st->npool > 0) {
    st->npool--;
    d->pipe_r = st->pool[st->npool * 2];
    d->pipe_w = st->pool[st->npool * 2 + 1];
    return 0;
  }
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return errno;
  d->pipe_r = p[0];
  d->pipe_w = p[1];
  return 0;
}

/* An empty pipe goes back to the pool; one with bytes left (an error mid-transfer) is closed. */
static void pipe_give (state_t *st, dir_t *d) {
  if (d->pipe_r < 0) return;
  if (d->pending == 0 && st->npool < PIPE_POOL_MAX && !st->shutting_down) {
    st->pool[st->npool * 2] = d->pipe_r;
    st->pool[st->npool * 2 + 1] = d->pipe_w;
    st->npool++;
  } else {
    close(d->pipe_r);
    close(d->pipe_w);
  }
  d->pipe_r = -1;
  d->pipe_w = -1;
  d->pending = 0;
}

/* ---- one direction ---- */

#define PUMP_WAIT 0
#define PUMP_DONE 1

/* Move what can be moved now. Returns PUMP_WAIT/PUMP_DONE, or a positive errno. */
static int pump (conn_t *c, dir_t *d, dir_t *other) {
  state_t *st = c->st;
  for (int round = 0; ; round++) {
    while (d->pending > 0) {
      ssize_t n = splice(d->pipe_r, NULL, d->out, NULL, d->pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) { d->blocked = 1; return PUMP_WAIT; }
        return errno;
      }
      d->pending -= (size_t)n;
      d->bytes += (double)n;
      st->counters[d->counter] += (double)n;
    }
    d->blocked = 0;
    if (d->eof) {
      pipe_give(st, d);
      /* the other way already ended: close(2), right after onEnd, sends this FIN */
      if (!other->done && shutdown(d->out, SHUT_WR) != 0 && errno != ENOTCONN) return errno;
      d->done = 1;
      return PUMP_DONE;
    }
    /* the pipe is empty here: yield with nothing in flight, level-triggered epoll calls again */
    if (round == ROUNDS_PER_EVENT) {
      pipe_give(st, d);
      return PUMP_WAIT;
    }
    if (d->pipe_r < 0) {
      int err = pipe_take(st, d);
      if (err != 0) return err;
    }
    ssize_t n = splice(d->in, NULL, d->pipe_w, NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        /* nothing to read: an idle direction holds no pipe */
        pipe_give(st, d);
        return PUMP_WAIT;
      }
      return errno;
    }
    if (n == 0) d->eof = 1;
    d->pending = (size_t)n;
  }
}

/* ---- connection ---- */

static void on_handle_closed (uv_handle_t *h) {
  state_t *st = (state_t *)h->data;
  close(st->epfd);
  st->epfd = -1;
  if (st->cleanup != NULL) {
    napi_async_cleanup_hook_handle hh = st->cleanup;
    st->cleanup = NULL;
    napi_remove_async_cleanup_hook(hh);
  }
}

static uint64_t tag (conn_t *c, int is_origin) {
  return ((uint64_t)c->gen << 32) | ((uint64_t)c->slot << 1) | (uint64_t)is_origin;
}

static int set_events (conn_t *c, int is_origin, uint32_t want) {
  uint8_t *cur = is_origin ? &c->eo : &c->ec;
  if (*cur == want) return 0;
  struct epoll_event ev;
  ev.events = want;
  ev.data.u64 = tag(c, is_origin);
  int fd = is_origin ? c->down.in : c->up.in;
  int op = *cur == NOT_ADDED ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(c->st->epfd, op, fd, &ev) != 0) return errno;
  *cur = (uint8_t)want;
  return 0;
}

static int update_events (conn_t *c) {
  uint32_t ec = 0;
  uint32_t eo = 0;
  if (!c->up.eof && !c->up.blocked) ec |= EPOLLIN;
  if (c->down.blocked) ec |= EPOLLOUT;
  if (!c->down.eof && !c->down.blocked) eo |= EPOLLIN;
  if (c->up.blocked) eo |= EPOLLOUT;
  int err = set_events(c, 0, ec);
  return err != 0 ? err : set_events(c, 1, eo);
}

/* Stop watching both fds (before anyone may close them), release the pipes and the slot. */
static void release (conn_t *c) {
  state_t *st = c->st;
  struct epoll_event ev = { 0 };
  if (c->ec != NOT_ADDED) epoll_ctl(st->epfd, EPOLL_CTL_DEL, c->up.in, &ev);
  if (c->eo != NOT_ADDED) epoll_ctl(st->epfd, EPOLL_CTL_DEL, c->down.in, &ev);
  pipe_give(st, &c->up);
  pipe_give(st, &c->down);
  c->live = 0;
  c->gen++;
  st->free_next[c->slot] = st->free_head;
  st->free_head = c->slot;
  st->live--;
}

static void finish (conn_t *c, int err) {
  state_t *st = c->st;
  napi_env env = st->env;
  int slot = c->slot;
  double up = c->up.bytes;
  double down = c->down.bytes;
  release(c);
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[4];
  napi_get_reference_value(env, st->on_end, &cb);
  napi_get_global(env, &recv);
  napi_create_int32(env, slot, &argv[0]);
  napi_create_double(env, up, &argv[1]);
  napi_create_double(env, down, &argv[2]);
  napi_create_int32(env, err, &argv[3]);
  if (napi_make_callback(env, st->async_ctx, recv, cb, 4, argv, NULL) == napi_pending_exception) {
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_fatal_exception(env, e);
  }
  napi_close_handle_scope(env, scope);
}

static int socket_error (int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) return err;
  return ECONNRESET;
}

/* One readiness event on one of a connection's sockets. */
static void on_socket (conn_t *c, int is_origin, uint32_t events) {
  /* the direction that reads this fd, and the one that writes to it */
  dir_t *rd = is_origin ? &c->down : &c->up;
  dir_t *wr = is_origin ? &c->up : &c->down;
  int r;
  if (events & EPOLLERR) {
    finish(c, socket_error(rd->in));
    return;
  }
  if ((events & (EPOLLOUT | EPOLLHUP)) && wr->blocked && !wr->done) {
    r = pump(c, wr, rd);
    if (r > PUMP_DONE) { finish(c, r); return; }
  }
  if ((events & (EPOLLIN | EPOLLHUP)) && !rd->eof && !rd->blocked) {
    r = pump(c, rd, wr);
    if (r > PUMP_DONE) { finish(c, r); return; }
  }
  if (c->up.done && c->down.done) {
    finish(c, 0);
    return;
  }
  r = update_events(c);
  if (r != 0) finish(c, r);
}

/* The loop's one watcher: our epoll set has events; handle one batch (level-triggered: the rest next turn). */
static void on_epoll (uv_poll_t *h, int status, int events) {
  (void)events;
  state_t *st = (state_t *)h->data;
  if (status < 0) return;
  struct epoll_event evs[EVENTS_PER_TURN];
  int n = epoll_wait(st->epfd, evs, EVENTS_PER_TURN, 0);
  for (int i = 0; i < n; i++) {
    uint64_t t = evs[i].data.u64;
    uint32_t slot = (uint32_t)(t & 0xffffffffu) >> 1;
    if ((int)slot >= st->nslots) continue;
    conn_t *c = &st->conns[slot];
    /* a connection ended earlier in this batch (its slot may already hold another one): stale */
    if (!c->live || c->gen != (uint32_t)(t >> 32)) continue;
    on_socket(c, (int)(t & 1), evs[i].events);
  }
}

/* ---- JS API ---- */

static state_t *get_state (napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return (state_t *)data;
}

static napi_value num (napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* Worker exit: forget every connection (Node closes the sockets), close the pipes, the watcher, the set. */
static void cleanup_hook (napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  state_t *st = (state_t *)arg;
  st->shutting_down = 1;
  for (int i = 0; i < st->nslots; i++) {
    if (st->conns[i].live) release(&st->conns[i]);
  }
  while (st->npool > 0) {
    st->npool--;
    close(st->pool[st->npool * 2]);
    close(st->pool[st->npool * 2 + 1]);
  }
  uv_close((uv_handle_t *)&st->watcher, on_handle_closed);
}

static void finalize_state (napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  state_t *st = (state_t *)data;
  free(st->conns);
  free(st->free_next);
  free(st);
}

static napi_value fail (napi_env env, state_t *st, const char *msg) {
  if (st != NULL) {
    if (st->epfd >= 0) close(st->epfd);
    free(st);
  }
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* init(counters: Float64Array, upIndex, downIndex, onEnd, scratch: Float64Array(2)), once per thread */
static napi_value js_init (napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) return fail(env, NULL, "init(counters, upIndex, downIndex, onEnd, scratch)");
  if (get_state(env) != NULL) return fail(env, NULL, "splice relay already initialised on this thread");
  state_t *st = calloc(1, sizeof(state_t));
  if (st == NULL) return fail(env, NULL, "out of memory");
  st->env = env;
  st->free_head = -1;
  st->epfd = -1;
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, argv[0], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array) {
    return fail(env, st, "counters must be a Float64Array");
  }
  st->counters = (double *)data;
  int32_t ui = -1, di = -1;
  napi_get_value_int32(env, argv[1], &ui);
  napi_get_value_int32(env, argv[2], &di);
  if (ui < 0 || di < 0 || (size_t)ui >= len || (size_t)di >= len) return fail(env, st, "counter index out of range");
  st->up_index = ui;
  st->down_index = di;
  if (napi_get_typedarray_info(env, argv[4], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array || len < 2) {
    return fail(env, st, "scratch must be a Float64Array of 2");
  }
  st->scratch = (double *)data;
  if (napi_get_uv_event_loop(env, &st->loop) != napi_ok) return fail(env, st, "no event loop");
  st->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (st->epfd < 0) return fail(env, st, "epoll_create1 failed");
  if (uv_poll_init(st->loop, &st->watcher, st->epfd) != 0) return fail(env, st, "uv_poll_init on the epoll fd failed");
  st->watcher.data = st;
  uv_poll_start(&st->watcher, UV_READABLE, on_epoll);
  /* the relay's own watcher must not keep a draining worker alive: sessions do that through their sockets */
  uv_unref((uv_handle_t *)&st->watcher);
  napi_create_reference(env, argv[0], 1, &st->counters_ref);
  napi_create_reference(env, argv[4], 1, &st->scratch_ref);
  napi_create_reference(env, argv[3], 1, &st->on_end);
  napi_value name;
  napi_create_string_utf8(env, "hellogate.splice", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &st->async_ctx);
  napi_set_instance_data(env, st, finalize_state, NULL);
  napi_add_async_cleanup_hook(env, cleanup_hook, st, &st->cleanup);
  return NULL;
}

static int take_slot (state_t *st) {
  if (st->free_head < 0) {
    int n = st->nslots == 0 ? 256 : st->nslots * 2;
    conn_t *s = realloc(st->conns, (size_t)n * sizeof(conn_t));
    if (s == NULL) return -1;
    st->conns = s;
    int *f = realloc(st->free_next, (size_t)n * sizeof(int));
    if (f == NULL) return -1;
    st->free_next = f;
    memset(s + st->nslots, 0, (size_t)(n - st->nslots) * sizeof(conn_t));
    for (int i = n - 1; i >= st->nslots; i--) {
      s[i].slot = i;
      f[i] = st->free_head;
      st->free_head = i;
    }
    st->nslots = n;
  }
  int slot = st->free_head;
  st->free_head = st->free_next[slot];
  return slot;
}

static void dir_init (dir_t *d, int in, int out, int counter) {
  memset(d, 0, sizeof(*d));
  d->in = in;
  d->out = out;
  d->pipe_r = -1;
  d->pipe_w = -1;
  d->counter = counter;
}

/* start(clientFd, originFd) -> slot >= 0, or -errno (nothing changed: the caller keeps relaying in JS) */
static napi_value js_start (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  state_t *st = get_state(env);
  if (st == NULL || st->shutting_down) return num(env, -EINVAL);
  int32_t fc = -1, fo = -1;
  napi_get_value_int32(env, argv[0], &fc);
  napi_get_value_int32(env, argv[1], &fo);
  if (fc < 0 || fo < 0 || fc == fo) return num(env, -EBADF);
  int slot = take_slot(st);
  if (slot < 0) return num(env, -ENOMEM);
  conn_t *c = &st->conns[slot];
  c->st = st;
  dir_init(&c->up, fc, fo, st->up_index);
  dir_init(&c->down, fo, fc, st->down_index);
  c->ec = NOT_ADDED;
  c->eo = NOT_ADDED;
  c->live = 1;
  st->live++;
  int err = update_events(c);
  if (err != 0) {
    release(c);
    return num(env, -err);
  }
  return num(env, slot);
}

static conn_t *slot_conn (napi_env env, napi_callback_info info, state_t **out) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  state_t *st = get_state(env);
  *out = st;
  if (st == NULL || argc < 1) return NULL;
  int32_t slot = -1;
  napi_get_value_int32(env, argv[0], &slot);
  if (slot < 0 || slot >= st->nslots || !st->conns[slot].live) return NULL;
  return &st->conns[slot];
}

/* stop(slot): stop relaying without the callback; bytes up/down in scratch. False if not live. */
static napi_value js_stop (napi_env env, napi_callback_info info) {
  state_t *st;
  conn_t *c = slot_conn(env, info, &st);
  napi_value r;
  if (c == NULL) { napi_get_boolean(env, 0, &r); return r; }
  st->scratch[0] = c->up.bytes;
  st->scratch[1] = c->down.bytes;
  release(c);
  napi_get_boolean(env, 1, &r);
  return r;
}

/* activity(slot): bytes moved both ways so far (the idle sweep compares it between looks), -1 if not live */
static napi_value js_activity (napi_env env, napi_callback_info info) {
  state_t *st;
  conn_t *c = slot_conn(env, info, &st);
  return num(env, c == NULL ? -1 : c->up.bytes + c->down.bytes);
}

/* stats(): [connections handed over, empty pipes pooled, pipes in use] for tests */
static napi_value js_stats (napi_env env, napi_callback_info info) {
  (void)info;
  state_t *st = get_state(env);
  int inuse = 0;
  if (st != NULL) {
    for (int i = 0; i < st->nslots; i++) {
      if (!st->conns[i].live) continue;
      inuse += (st->conns[i].up.pipe_r >= 0) + (st->conns[i].down.pipe_r >= 0);
    }
  }
  napi_value r;
  napi_create_array_with_length(env, 3, &r);
  napi_set_element(env, r, 0, num(env, st == NULL ? 0 : st->live));
  napi_set_element(env, r, 1, num(env, st == NULL ? 0 : st->npool));
  napi_set_element(env, r, 2, num(env, inuse));
  return r;
}

/*
 * mallocInUse() -> bytes malloc holds for the process now (glibc mallinfo2: in-use chunks of every arena
 * plus mmapped chunks), or -1 where that is not available. Not relay code: the measurement hook behind
 * POST /debug/gc (pool/gc.ts) reads it, because the native memory a connection holds (libuv handles,
 * Node's socket wraps) is malloc'd and in no V8 heap figure.
 */
static napi_value js_malloc_in_use (napi_env env, napi_callback_info info) {
  (void)info;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  return num(env, (double)mi.uordblks + (double)mi.hblkhd);
#else
  return num(env, -1);
#endif
}

NAPI_MODULE_INIT (/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
    { "init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL },
    { "start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL },
    { "stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL },
    { "activity", NULL, js_activity, NULL, NULL, NULL, napi_default, NULL },
    { "stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL },
    { "mallocInUse", NULL, js_malloc_in_use, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
