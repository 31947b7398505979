// A small RAII layer over the SQLite C API: a connection (SqliteDb), a
// prepared statement (Statement) and a transaction guard (Transaction).
//
// Every failure throws; nothing here returns an SQLite result code. The
// exception names the file, what was being done (the innermost
// SqliteDb::OperationScope, e.g. "committing round 7 of run 3") and SQLite's
// own message, and says what the user can do:
//   SQLITE_FULL             IoError "experiment log /x/y.db: disk full while
//                           committing round 7 of run 3 (...)"
//   SQLITE_READONLY         IoError "... is read-only ..."
//   SQLITE_IOERR            IoError "... I/O error ..."
//   SQLITE_CANTOPEN         IoError "... cannot open ..."
//   SQLITE_BUSY / LOCKED    IoError "... locked by another writer ..."
//   SQLITE_NOTADB           DataError "... not an edgefl experiment log ..."
//   SQLITE_CORRUPT          DataError "... the file is corrupted ..."; the
//                           connection is then marked damaged (below)
//   a write on a damaged connection  DataError "... refusing to write ..."
//   SQLITE_CONSTRAINT_PRIMARYKEY / _UNIQUE   storage::DuplicateError
//   other SQLITE_CONSTRAINT DataError "... invalid record ..."
//   anything else           IoError with SQLite's message
//
// Thread-safety: a SqliteDb and its Statements belong to one thread at a time
// (SQLite's multi-thread mode); use one connection per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace edgefl::storage {

class SqliteDb {
 public:
  enum class Mode {
    kReadWriteCreate,  // create the file if missing
    kReadWrite,        // the file must exist
    kReadOnly,         // SQLITE_OPEN_READONLY: every write fails with IoError
  };

  // Opens `path`. Throws IoError if it cannot be opened (missing directory,
  // missing file in kReadWrite/kReadOnly, permissions). Opening does not read
  // the file yet: a file that is not SQLite fails at the first statement.
  // busy_timeout_ms: how long a statement waits for another connection's
  // lock before failing with IoError.
  SqliteDb(const std::filesystem::path& path, Mode mode, int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more ';'-separated statements that return no rows of
  // interest (DDL, PRAGMA assignments). Throws as described above.
  void Execute(std::string_view sql);

  // Runs a statement returning a single integer (e.g. "PRAGMA user_version").
  // Throws DataError if it returns no row.
  int64_t QueryInt(std::string_view sql);

  // Runs "PRAGMA journal_mode = <mode>" and returns the mode in effect
  // afterwards (SQLite keeps the old one where it cannot change it, e.g.
  // "wal" without shared memory). Changing the mode needs the file's
  // exclusive lock, and SQLite does not wait for that lock when another
  // connection holds a read lock (it returns SQLITE_BUSY at once to avoid a
  // deadlock): this retries for up to busy_timeout_ms, then throws IoError.
  std::string SetJournalMode(std::string_view mode);

  // Rowid of the last successful INSERT on this connection.
  int64_t LastInsertRowId() const;
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t Changes() const;
  // True while an explicit transaction is open.
  bool InTransaction() const;

  const std::filesystem::path& path() const { return path_; }
  Mode mode() const { return mode_; }
  sqlite3* handle() { return db_; }

  // Checks the whole file with PRAGMA quick_check (every page and b-tree
  // is read once; index contents are not compared with their tables, which
  // PRAGMA integrity_check would add at O(N log N)). Throws DataError naming
  // the file, the first problems SQLite reported and what to do (restore a
  // backup, `sqlite3 FILE .recover`, or another log file) if it is damaged,
  // and marks the connection damaged. Writes nothing.
  void CheckNotDamaged();

  // True once this connection found the file damaged (CheckNotDamaged, or a
  // statement failed with SQLITE_CORRUPT). From then on every write on it is
  // refused by SQLite (PRAGMA query_only) and throws DataError "... refusing
  // to write ...", so an error path (e.g. marking the run failed) cannot add
  // to the damage; reads are still attempted.
  bool damaged() const { return damaged_; }

  // Throws the exception for SQLite result code `rc` (see the file comment).
  [[noreturn]] void Fail(int rc) const;
  // Throws DataError "experiment log <path>: <what>".
  [[noreturn]] void FailData(const std::string& what) const;

  // Names what this connection is doing, for error messages, until the scope
  // ends ("committing round 7 of run 3"). Scopes nest; the innermost wins.
  class OperationScope {
   public:
    OperationScope(SqliteDb& db, std::string operation);
    ~OperationScope();
    OperationScope(const OperationScope&) = delete;
    OperationScope& operator=(const OperationScope&) = delete;

   private:
    SqliteDb& db_;
    std::string previous_;
  };

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  Mode mode_;
  int busy_timeout_ms_;
  std::string operation_;  // innermost OperationScope, "" outside any
  // Set by MarkDamaged; mutable because Fail (const) finds the damage.
  mutable bool damaged_ = false;

  // Sets damaged_ and PRAGMA query_only on this connection. Never throws.
  void MarkDamaged() const;
  // What to do about a damaged file: restore, recover, or another file.
  std::string DamagedAdvice() const;
};

// A prepared statement. Parameters are 1-based (as in SQLite), columns
// 0-based. Bound text and blobs are copied, so temporaries are fine.
class Statement {
 public:
  // Compiles `sql`. Throws as SqliteDb::Fail (a syntax error is an IoError
  // naming the statement; a non-SQLite file is a DataError).
  Statement(SqliteDb& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  // NaN is stored as NULL (SQLite does the same); read it back with
  // ColumnDoubleOrNaN.
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::optional<double> value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, const void* data, size_t size);
  Statement& BindNull(int index);

  // Advances to the next row. Returns true if a row is available, false when
  // the statement is done. Throws as SqliteDb::Fail.
  bool Step();
  // Steps a statement that returns no rows (INSERT/UPDATE/DELETE) to the end.
  void Run();
  // Rewinds the statement so it can be stepped again; bindings are kept.
  void Reset();

  bool ColumnIsNull(int column) const;
  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;
  // NULL reads as NaN (a metric that was not measured).
  double ColumnDoubleOrNaN(int column) const;
  std::optional<double> ColumnOptionalDouble(int column) const;
  std::string ColumnText(int column) const;
  // The blob's bytes; NULL reads as an empty string.
  std::string ColumnBlob(int column) const;

 private:
  void Check(int rc) const;

  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// An RAII transaction: BEGIN on construction, ROLLBACK on destruction unless
// Commit() returned. A failed Commit() also rolls back.
class Transaction {
 public:
  enum class Kind {
    kDeferred,   // BEGIN: takes the write lock at the first write
    kImmediate,  // BEGIN IMMEDIATE: takes the write lock now (use for writes)
  };

  // Throws IoError if the transaction cannot start (another writer holds the
  // lock past the busy timeout, read-only file for kImmediate).
  explicit Transaction(SqliteDb& db, Kind kind = Kind::kImmediate);
  // Rolls back if not committed. Never throws.
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Commits. On success the changes are durable as far as the connection's
  // PRAGMA synchronous promises (FULL for the experiment log). Throws as
  // SqliteDb::Fail; the transaction is then rolled back.
  // REQUIRES: Commit() not called before.
  void Commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace edgefl::storage
