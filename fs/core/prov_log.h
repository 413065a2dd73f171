// The provenance log (format/prov_log.h, FORMAT.md §7.1): appends records inside the
// operation's own journal handle, so a record commits in the same transaction as the
// change it describes (or, for an operation that changes nothing else and would wait for
// a commit's quiescent window, keeps it for that commit: defer); serves committed records
// to readers; moves the head when a reader acknowledges. Present in both modules (plain
// Bento-fs serves and acknowledges, so a collector can drain the log after tracking is
// switched off); only Bento-prov appends.
//
// Space: an operation reserves room for its record before it changes anything (a Ticket).
// When the ring is full the operation is not refused (a full log is a policy, not an
// outage): it gets an unrecorded ticket, and appending through it counts the record in
// the pending gap instead of writing it. Once there is room again one kGap record with
// those counts goes in before the next record (or at the acknowledgement that made the
// room), so the hole in the lineage is explicit. Nothing retained is ever overwritten. An
// open handle keeps room for its release record for as long as it is open (when its open
// was recorded), so closing a recorded handle never needs space.
#pragma once

#include <bento/block_device.h>
#include <bento/fs_types.h>
#include <bento/result.h>
#include <bento/sync.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "core/journal.h"
#include "format/prov_log.h"

namespace bentofs {

// The fields of one record; the operation fills what applies (prov_log.h).
struct ProvDraft {
  prov::RecordType type = prov::RecordType::kPad;
  uint64_t ino = 0;
  uint32_t gen = 0, flags = 0;
  uint64_t parent = 0, ino2 = 0;
  uint32_t gen2 = 0, mode = 0;
  uint64_t fh = 0, aux = 0, parent2 = 0;
  std::string_view name, name2;
};

class ProvLog {
 public:
  // Room kept by an open handle for its release record.
  static constexpr uint64_t kReleaseRoom = 2 * prov::record_len(0, 0);
  // Journal credits one record may touch: the header, the tail block and the next two
  // (deferred records, at most kDeferBytes, go in first). The header is written once per
  // transaction, but any record may be its first.
  static constexpr uint32_t kCredits = 4;
  // Room for records deferred while the journal quiesces for a commit (defer).
  static constexpr uint32_t kDeferBytes = 2048;

  // Reserved room for one record; given back unless append() consumed it.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& o) noexcept : log_(o.log_), bytes_(o.bytes_), unrecorded_(o.unrecorded_) {
      o.log_ = nullptr;
    }
    Ticket& operator=(Ticket&& o) noexcept;
    Ticket(const Ticket&) = delete;
    ~Ticket() { release(); }
    void release();
    // Leaves `bytes` of this ticket reserved for good (an open handle's release record);
    // a later Ticket::held() claims them back.
    void keep(uint64_t bytes);
    bool valid() const { return log_ != nullptr; }
    // The log was full: appending through this ticket only counts the record (a gap).
    bool unrecorded() const { return unrecorded_; }
    // Room was reserved (so keep() really keeps room for a release record).
    bool recorded() const { return log_ != nullptr && !unrecorded_; }

   private:
    friend class ProvLog;
    ProvLog* log_ = nullptr;
    uint64_t bytes_ = 0;
    bool unrecorded_ = false;
  };

  // Loads and checks the header of the area [start, start + blocks) through dev's cache
  // (so after a live upgrade it sees the latest, uncommitted state). floor_tid: records
  // appended in transactions below it... are durable only once that transaction commits.
  Status load(BlockDevice& dev, uint64_t start, uint64_t blocks, uint64_t floor_tid,
              const char** why);
  bool present() const { return blocks_ != 0; }

  // Room for a record with names of these lengths (+ extra bytes to keep); an unrecorded
  // ticket when the log is full (the operation goes on, its record joins the gap).
  Result<Ticket> reserve(size_t name_len, size_t name2_len, uint64_t extra = 0);
  // Room an open handle kept (Ticket::keep) for its release record.
  Ticket held(uint64_t bytes);
  // Keeps room for `handles` releases (after a live upgrade into tracking).
  void hold_for_handles(uint64_t handles);
  // Appends inside h (which must have kCredits spare credits), after the pending gap's
  // record when there is room for it. Consumes the ticket's room. An unrecorded ticket
  // (or a record that does not fit) only counts the record in the pending gap, in the
  // header written in h: the count is as durable as the operation.
  Status append(Handle& h, const bento::Request& req, const ProvDraft& d, Ticket& t);
  // Instead of append() in a log-only handle that would wait for a commit's quiescent
  // window (Journal::try_begin_log_only said EAGAIN): when the journal is still quiescing
  // (Journal::defer_log_only), keeps the record, stamped now, for the commit hook or the
  // next append, whichever comes first; it takes its seq and place then, after every
  // record appended before it. Consumes the ticket. False (nothing done) when the journal
  // no longer quiesces, the ticket is unrecorded, or kDeferBytes are waiting already.
  bool defer(Journal& j, const bento::Request& req, const ProvDraft& d, Ticket& t);
  bool has_deferred();
  // Writes the deferred records now, in h (kCredits spare): before a live upgrade hands
  // the log's header on.
  Status flush_deferred(Handle& h);
  // Marks whether a tracking module is mounted (informational, in the header).
  Status set_tracking(Handle& h, bool on);
  // The header block is registered with the first handle of a transaction that changes
  // the log and filled in once, at commit, by this hook (Journal::set_commit_hook; arg:
  // the ProvLog): not sealed and copied by every append. The hook first writes the
  // deferred records into the committing transaction (h). sync_header() fills the header
  // in now (live upgrade: the next instance loads the header from the cache).
  static Status commit_hook(void* self, Handle& h);
  Status sync_header();

  // Whole committed records from logical offset off into out. ERANGE below the head.
  Result<size_t> read(uint64_t off, std::span<uint8_t> out, uint64_t committed_tid);
  // Moves the head to off (a record boundary in [head, durable tail]); writes the pending
  // gap's record when that made room for it.
  Status ack(Handle& h, uint64_t off, uint64_t committed_tid);
  uint64_t durable_tail(uint64_t committed_tid);
  // "key=value\n" lines for trusted.bento.prov.info. Returns the length (may exceed n).
  size_t info(char* buf, size_t n, uint64_t committed_tid, bool tracking);

 private:
  struct Pending {
    uint64_t tid;
    uint64_t tail;  // the log's tail after the last record of transaction tid
  };
  struct State {
    prov::ProvLogHeader hdr;
    uint64_t reserved = 0;  // bytes promised to in-flight operations and open handles
    uint64_t durable = 0;   // tail as of the last committed transaction seen
    // Transactions with records not yet known to be committed, oldest first. At most a
    // few are open at once (running, committing); when full the newest is merged, which
    // only delays durability.
    Pending pending[8];
    uint32_t npending = 0;
    uint64_t refused_logged = 0;
    // hdr changed since it was last copied into its buffer (at a commit, or sync_header).
    bool hdr_dirty = false;
    // The transaction the header block is registered with, and the last log block
    // registered and the transaction it is registered with (0: none).
    uint64_t hdr_tid = 0;
    uint64_t tail_tid = 0, tail_block = 0;
    // Records deferred while the journal quiesced (defer): built and stamped, without seq;
    // the room their tickets reserved is still counted in `reserved`.
    uint8_t deferred[kDeferBytes];
    uint32_t deferred_len = 0;
    uint64_t deferred_room = 0;
  };
  // A pending record that was not written, the log being full.
  void count_gap(State& s, const ProvDraft& d);
  // Writes rec (len bytes, seq and checksum filled here) at the tail, after a Pad when
  // the block's rest is too small. The caller checked the room. (Gap records only.)
  Result<uint64_t> pad_for_locked(Handle& h, State& s, uint32_t len);
  Status put_locked(Handle& h, State& s, uint8_t* rec, uint32_t len);
  // Appends the pending gap's record if it fits with `also` more bytes and the room other
  // tickets hold; true when written (the header still needs writing).
  Result<bool> flush_gap_locked(Handle& h, State& s, uint64_t also, uint64_t held_by_others);
  void note_pending(State& s, uint64_t tid, uint64_t tail);
  // Writes the deferred records in h (each like an append: after the pending gap's record,
  // or into the gap) and tells the journal none is waiting.
  Status drain_locked(Handle& h, State& s);
  using Guard = bento::Mutex<State>::Guard;
  void unreserve(uint64_t bytes);
  uint64_t durable_locked(State& s, uint64_t committed_tid);
  // The header changed in h's transaction: registers its block there (once per
  // transaction); the commit hook copies it in.
  Status touch_header(Handle& h, State& s);
  Status flush_header_locked(State& s);
  // Registers the block holding logical offset off in h's transaction (once).
  Status register_block_locked(Handle& h, State& s, uint64_t off);
  Status write_at_locked(Handle& h, State& s, uint64_t off, const uint8_t* data, uint32_t len);

  BlockDevice* dev_ = nullptr;
  uint64_t start_ = 0, blocks_ = 0;
  bento::Mutex<State> st_;
};

}  // namespace bentofs
