/*
 * splice(2) relay for hellogate's data phase (src/relay/splice.ts is its only caller).
 *
 * Once the hello is written and Node holds no bytes of a connection, the worker hands the two socket
 * file descriptors over; from then on bytes move socket -> pipe -> socket inside the kernel, with no
 * JavaScript, no Buffer and no user-space copy per chunk, until the connection ends. Then one JS
 * callback `onEnd(slot, bytesUp, bytesDown, errno)` tells the worker, which closes both sockets.
 *
 * The origin leg can start here too (dial/attach): for an origin given as an IP literal the worker asks
 * the addon to open and connect the origin socket itself; the result comes back as one JS callback
 * `onDial(slot, errno)`, within which the worker attaches the client fd with the bytes to replay (PROXY
 * header + hello + early bytes): they are written, and the connection relays as a start() slot from its
 * first byte. No origin net.Socket, no libuv handle, no stream chunk and no origin close in JavaScript
 * for such a connection; the origin fd is the addon's, closed by release() (Node only closes the client).
 *
 * The client leg can start here too (intake/rearm): for a connection the worker accepted at the handle
 * level (no net.Socket), the addon watches the client fd for its first bytes, one-shot: each readiness
 * event is one read(2) into the worker's read buffer and one JS call `onIntake(slot, n)` (n bytes there,
 * 0 at EOF, -errno); JS asks for more with rearm(slot), or leaves the fd disabled in the set while the
 * origin is dialed — armed for a hang-up alone then (rearm(slot, true): a reset reported, nothing read) —
 * and attach() takes the registration over (one EPOLL_CTL_MOD, no DEL + ADD).
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
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
  uint8_t blocked; /* `out` would block with bytes in the pipe (or in `head`) */
  int counter;     /* index in the shared counters */
  /* bytes given by JS to write to `out` before anything spliced (an attached origin's prefix + hello +
   * early bytes) that the first write(2) did not take: a malloc'd copy, freed once written; JS counted them */
  uint8_t *head;
  uint32_t head_len;
  uint32_t head_off;
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
  uint8_t phase;       /* PHASE_*: dialing the origin, dialed (waiting for attach), relaying */
  uint8_t owns_origin; /* the origin fd was opened here (dial): closed here, never by Node */
} conn_t;

/* conn_t.phase: a slot from start() is relaying at once; one from dial() connects first, reports the
 * result through onDial, and relays once JS attaches the client to it (within that callback) */
#define PHASE_RELAY 0
#define PHASE_DIAL 1
#define PHASE_DIALED 2
/* a slot from intake(): the client fd alone, read by on_intake until JS stops it or attach takes it over */
#define PHASE_INTAKE 3

/* conn_t.ec/eo before the fd is in the epoll set (EPOLLIN|EPOLLOUT fit in the low byte) */
#define NOT_ADDED 0xff
/* conn_t.ec of an intake slot: in the set with EPOLLIN|EPOLLONESHOT, armed (0 once it fired: disabled) */
#define INTAKE_ARMED 0xfe
/* ... or armed for a hang-up alone (EPOLLONESHOT, no EPOLLIN: only EPOLLERR/EPOLLHUP can fire), while the
 * origin is dialed: a client that resets is seen at once, its bytes and FIN stay in the kernel for attach */
#define INTAKE_HANGUP 0xfd

struct state_s {
  napi_env env;
  uv_loop_t *loop;
  int epfd;          /* this loop's own epoll set, watched by `watcher` */
  uv_poll_t watcher;
  napi_ref counters_ref;
  napi_ref scratch_ref;
  napi_ref on_end;
  napi_ref on_dial;  /* onDial(slot, errno): the connect of a dial() slot finished; null before init's 6th arg */
  napi_ref on_intake; /* onIntake(slot, n): an intake slot's read; null before init's 7th arg */
  napi_ref read_ref;
  uint8_t *read_buf; /* init's 8th arg: where on_intake reads a client's first bytes (JS copies them out) */
  size_t read_len;
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
  while (d->head != NULL) {
    ssize_t n = write(d->out, d->head + d->head_off, d->head_len - d->head_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { d->blocked = 1; return PUMP_WAIT; }
      return errno;
    }
    d->head_off += (uint32_t)n;
    if (d->head_off == d->head_len) { free(d->head); d->head = NULL; }
  }
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
  /* an origin fd opened here is closed here, which also takes it out of the set (no dup exists) */
  if (c->owns_origin) {
    close(c->down.in);
    c->owns_origin = 0;
  } else if (c->eo != NOT_ADDED) {
    epoll_ctl(st->epfd, EPOLL_CTL_DEL, c->down.in, &ev);
  }
  if (c->up.head != NULL) { free(c->up.head); c->up.head = NULL; }
  pipe_give(st, &c->up);
  pipe_give(st, &c->down);
  c->live = 0;
  c->gen++;
  st->free_next[c->slot] = st->free_head;
  st->free_head = c->slot;
  st->live--;
}

/*
 * Call a JS callback with up to 4 numbers (an exception in it is the process's uncaught exception).
 * Node runs the tick and microtask queues after it, so any JS may run inside: new slots may be opened and
 * st->conns reallocated. A caller must not use a conn_t pointer taken before the call (only its slot).
 */
static void call_js (state_t *st, napi_ref fn, int argc, const double *args) {
  napi_env env = st->env;
  napi_handle_scope scope;
  /* the worker is exiting: no JavaScript runs any more */
  if (fn == NULL || st->shutting_down || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[4];
  napi_get_reference_value(env, fn, &cb);
  napi_get_global(env, &recv);
  for (int i = 0; i < argc; i++) napi_create_double(env, args[i], &argv[i]);
  if (napi_make_callback(env, st->async_ctx, recv, cb, (size_t)argc, argv, NULL) == napi_pending_exception) {
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_fatal_exception(env, e);
  }
  napi_close_handle_scope(env, scope);
}

static void finish (conn_t *c, int err) {
  state_t *st = c->st;
  double args[4] = { (double)c->slot, c->up.bytes, c->down.bytes, (double)err };
  release(c);
  call_js(st, st->on_end, 4, args);
}

static int socket_error (int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) return err;
  return ECONNRESET;
}

/*
 * The origin fd of a dial() slot is writable (or failed): its connect finished. A failure releases the
 * slot (closing the fd) before onDial(slot, errno) is called; a success calls onDial(slot, 0), within
 * which JS attaches the client (attach) or lets go (stop). A slot left dialed after the callback is
 * released here: no fd is ever left behind.
 */
static void on_dialed (conn_t *c) {
  state_t *st = c->st;
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(c->down.in, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  double args[2] = { (double)c->slot, (double)err };
  if (err != 0) {
    release(c);
    call_js(st, st->on_dial, 2, args);
    return;
  }
  uint32_t gen = c->gen;
  int slot = c->slot;
  c->phase = PHASE_DIALED;
  call_js(st, st->on_dial, 2, args);
  /* the callback (and the ticks Node runs after it) may have opened slots and moved st->conns: look again */
  c = &st->conns[slot];
  if (c->live && c->gen == gen && c->phase == PHASE_DIALED) release(c);
}

static int intake_arm (conn_t *c, int op, int hangup_only) {
  struct epoll_event ev;
  ev.events = hangup_only ? EPOLLONESHOT : EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = tag(c, 0);
  if (epoll_ctl(c->st->epfd, op, c->up.in, &ev) != 0) return errno;
  c->ec = hangup_only ? INTAKE_HANGUP : INTAKE_ARMED;
  return 0;
}

/*
 * An intake slot's client fd is readable (the one-shot registration fired and is now disabled): one read
 * into the worker's buffer, then onIntake(slot, n) with the byte count, 0 at EOF, or -errno. Nothing to
 * read after all (EAGAIN): armed again, no call. JS decides the rest (rearm, stop, or dial + attach).
 */
static void on_intake (conn_t *c, uint32_t events) {
  state_t *st = c->st;
  int hangup_only = c->ec == INTAKE_HANGUP;
  c->ec = 0;
  ssize_t n;
  if (hangup_only) {
    /* nothing is read: the client's bytes are the relay's after attach */
    double args[2] = { (double)c->slot, -(double)((events & EPOLLERR) ? socket_error(c->up.in) : ECONNRESET) };
    call_js(st, st->on_intake, 2, args);
    return;
  }
  do { n = read(c->up.in, st->read_buf, st->read_len); } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    int err = intake_arm(c, EPOLL_CTL_MOD, 0);
    if (err == 0) return;
    n = -err;
  } else if (n < 0) {
    n = -errno;
  }
  double args[2] = { (double)c->slot, (double)n };
  call_js(st, st->on_intake, 2, args);
}

/* One readiness event on one of a connection's sockets. */
static void on_socket (conn_t *c, int is_origin, uint32_t events) {
  if (c->phase == PHASE_INTAKE) {
    on_intake(c, events);
    return;
  }
  if (c->phase == PHASE_DIAL) {
    on_dialed(c);
    return;
  }
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

/* init(counters: Float64Array, upIndex, downIndex, onEnd, scratch: Float64Array(2)[, onDial[, onIntake, readBuf: Uint8Array]]), once per thread */
static napi_value js_init (napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
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
  napi_valuetype t6 = napi_undefined;
  if (argc >= 6) napi_typeof(env, argv[5], &t6);
  if (t6 == napi_function) napi_create_reference(env, argv[5], 1, &st->on_dial);
  napi_valuetype t7 = napi_undefined;
  if (argc >= 8) napi_typeof(env, argv[6], &t7);
  if (t7 == napi_function && napi_get_typedarray_info(env, argv[7], &type, &len, &data, NULL, NULL) == napi_ok &&
      type == napi_uint8_array && len > 0) {
    napi_create_reference(env, argv[6], 1, &st->on_intake);
    napi_create_reference(env, argv[7], 1, &st->read_ref);
    st->read_buf = (uint8_t *)data;
    st->read_len = len;
  }
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

/* A taken slot becomes a live connection of client fd `fc` (-1 until attach) and origin fd `fo`, no fd in the set yet. */
static conn_t *conn_open (state_t *st, int slot, int fc, int fo, uint8_t phase, uint8_t owns_origin) {
  conn_t *c = &st->conns[slot];
  c->st = st;
  dir_init(&c->up, fc, fo, st->up_index);
  dir_init(&c->down, fo, fc, st->down_index);
  c->ec = NOT_ADDED;
  c->eo = NOT_ADDED;
  c->phase = phase;
  c->owns_origin = owns_origin;
  c->live = 1;
  st->live++;
  return c;
}

/* The live connection in `slot` (a number JS passed), or NULL: out of range, or not live. */
static conn_t *live_conn (state_t *st, int32_t slot) {
  if (st == NULL || slot < 0 || slot >= st->nslots || !st->conns[slot].live) return NULL;
  return &st->conns[slot];
}

/* A slot just opened by start/dial/intake: its slot number, or (`err` from registering its fd) released and -err */
static napi_value opened (napi_env env, conn_t *c, int err) {
  if (err != 0) {
    release(c);
    return num(env, -err);
  }
  return num(env, c->slot);
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
  conn_t *c = conn_open(st, slot, fc, fo, PHASE_RELAY, 0);
  int err = update_events(c);
  return opened(env, c, err);
}

/* longest address text dial() parses (an IPv6 literal; no zone: those go through Node's connect) */
#define ADDR_TEXT_MAX 64

/*
 * dial(host, port) -> slot >= 0, or -errno. The origin leg without a net.Socket: a non-blocking TCP
 * socket (TCP_NODELAY, as Node's noDelay), connect(2), and its fd in this loop's epoll set until the
 * connect finishes (onDial). `host` must be an IPv4 or IPv6 literal: -EAFNOSUPPORT when it is not
 * (the caller connects through Node then, nothing was opened). Any other -errno is a connect that failed
 * at once (e.g. ENETUNREACH, EMFILE): nothing is left open; the caller reports it as a failed attempt.
 */
static napi_value js_dial (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  state_t *st = get_state(env);
  if (st == NULL || st->shutting_down || st->on_dial == NULL || argc < 2) return num(env, -EAFNOSUPPORT);
  char host[ADDR_TEXT_MAX];
  size_t hlen = 0;
  if (napi_get_value_string_latin1(env, argv[0], host, sizeof(host), &hlen) != napi_ok || hlen == 0 || hlen >= sizeof(host) - 1) {
    return num(env, -EAFNOSUPPORT);
  }
  int32_t port = -1;
  napi_get_value_int32(env, argv[1], &port);
  if (port <= 0 || port > 65535) return num(env, -EAFNOSUPPORT);
  struct sockaddr_storage sa;
  socklen_t salen;
  memset(&sa, 0, sizeof(sa));
  struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    salen = sizeof(*s4);
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    salen = sizeof(*s6);
  } else {
    return num(env, -EAFNOSUPPORT);
  }
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int r;
  do { r = connect(fd, (struct sockaddr *)&sa, salen); } while (r != 0 && errno == EINTR);
  if (r != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return num(env, -err);
  }
  int slot = take_slot(st);
  if (slot < 0) { close(fd); return num(env, -ENOMEM); }
  conn_t *c = conn_open(st, slot, -1, fd, PHASE_DIAL, 1);
  /* a connect that completed at once (r == 0) is writable at once: one path for both */
  int err = set_events(c, 1, EPOLLOUT);
  return opened(env, c, err);
}

/*
 * intake(clientFd) -> slot >= 0, or -errno (nothing changed: the caller reads the client through Node).
 * The client fd of a connection accepted without a net.Socket: watched one-shot for its first bytes
 * (on_intake). Node has not read it and never will unless JS stops the slot and wraps the fd; the fd is
 * Node's (its TCP handle closes it), never closed here.
 */
static napi_value js_intake (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  state_t *st = get_state(env);
  if (st == NULL || st->shutting_down || st->on_intake == NULL || argc < 1) return num(env, -EINVAL);
  int32_t fc = -1;
  napi_get_value_int32(env, argv[0], &fc);
  if (fc < 0) return num(env, -EBADF);
  int slot = take_slot(st);
  if (slot < 0) return num(env, -ENOMEM);
  conn_t *c = conn_open(st, slot, fc, -1, PHASE_INTAKE, 0);
  int err = intake_arm(c, EPOLL_CTL_ADD, 0);
  return opened(env, c, err);
}

/*
 * rearm(slot, hangupOnly) -> 0, or -errno: read the intake slot's client once more when it is readable;
 * or, with hangupOnly, report only its reset or error (onIntake(slot, -errno)) and read nothing.
 */
static napi_value js_rearm (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  state_t *st = get_state(env);
  if (st == NULL || argc < 2) return num(env, -EINVAL);
  int32_t slot = -1;
  napi_get_value_int32(env, argv[0], &slot);
  bool hangup = false;
  napi_get_value_bool(env, argv[1], &hangup);
  conn_t *c = live_conn(st, slot);
  if (c == NULL || c->phase != PHASE_INTAKE) return num(env, -EINVAL);
  if (c->ec == (hangup ? INTAKE_HANGUP : INTAKE_ARMED)) return num(env, 0);
  int err = intake_arm(c, EPOLL_CTL_MOD, hangup);
  return num(env, err == 0 ? 0 : -err);
}

/*
 * attach(slot, clientFd, bytes, clientEof) -> 0, or -errno (the slot stays live: the caller stops it).
 * Within onDial(slot, 0): write `bytes` (prefix + hello + early bytes, counted by JS) to the origin,
 * keeping what the socket did not take for the up direction to write first, then relay both ways as a
 * start() slot does. `clientEof`: the client's FIN was already read by Node; it follows the bytes.
 * `intakeSlot` (optional): the intake slot that read this client; its (disabled) registration of the fd is
 * taken over with one EPOLL_CTL_MOD, and the intake slot is released. -EINVAL is returned only before
 * anything changed (the intake slot is still the caller's); any later failure is another errno.
 */
static napi_value js_attach (napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  state_t *st = get_state(env);
  if (st == NULL || argc < 4) return num(env, -EINVAL);
  int32_t slot = -1, fc = -1;
  napi_get_value_int32(env, argv[0], &slot);
  napi_get_value_int32(env, argv[1], &fc);
  conn_t *c = live_conn(st, slot);
  if (c == NULL || c->phase != PHASE_DIALED) return num(env, -EINVAL);
  if (fc < 0 || fc == c->down.in) return num(env, -EBADF);
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, argv[2], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array || len > UINT32_MAX) {
    return num(env, -EINVAL);
  }
  bool eof = false;
  napi_get_value_bool(env, argv[3], &eof);
  int32_t islot = -1;
  if (argc >= 5) napi_get_value_int32(env, argv[4], &islot);
  if (islot >= 0) {
    conn_t *ic = live_conn(st, islot);
    if (ic == NULL || ic->phase != PHASE_INTAKE || ic->up.in != fc || ic->ec == INTAKE_ARMED) return num(env, -EINVAL);
    /* the fd stays in the set, disabled: this slot's first update_events re-tags it with MOD */
    ic->ec = NOT_ADDED;
    release(ic);
    c->ec = 0;
  }
  int fo = c->down.in;
  c->up.in = fc;
  c->down.out = fc;
  c->phase = PHASE_RELAY;
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fo, (const uint8_t *)data + off, len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      /* EINVAL means "nothing changed" to the caller: anything after the intake take-over is not that */
      return num(env, errno == EINVAL ? -EIO : -errno);
    }
    off += (size_t)n;
  }
  if (off < len) {
    /* the rest waits for the origin to be writable; the client is not read until it is written */
    c->up.head = malloc(len - off);
    if (c->up.head == NULL) return num(env, -ENOMEM);
    memcpy(c->up.head, (const uint8_t *)data + off, len - off);
    c->up.head_len = (uint32_t)(len - off);
    c->up.head_off = 0;
    c->up.blocked = 1;
  }
  if (eof) {
    c->up.eof = 1;
    if (!c->up.blocked) {
      int r = pump(c, &c->up, &c->down);
      if (r > PUMP_DONE) return num(env, -r);
    }
  }
  int err = update_events(c);
  return num(env, err == 0 ? 0 : err == EINVAL ? -EIO : -err);
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
  return live_conn(st, slot);
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
    { "dial", NULL, js_dial, NULL, NULL, NULL, napi_default, NULL },
    { "attach", NULL, js_attach, NULL, NULL, NULL, napi_default, NULL },
    { "intake", NULL, js_intake, NULL, NULL, NULL, napi_default, NULL },
    { "rearm", NULL, js_rearm, NULL, NULL, NULL, napi_default, NULL },
    { "stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL },
    { "activity", NULL, js_activity, NULL, NULL, NULL, napi_default, NULL },
    { "stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL },
    { "mallocInUse", NULL, js_malloc_in_use, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
