#include "storage/sqlite_db.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <sys/statvfs.h>
#include <thread>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "common/error.h"
#include "storage/errors.h"

namespace edgefl::storage {

namespace {

int OpenFlags(SqliteDb::Mode mode) {
  // NOMUTEX: a connection is used by one thread at a time (see the header).
  const int common = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case SqliteDb::Mode::kReadWriteCreate:
      return common | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    case SqliteDb::Mode::kReadWrite:
      return common | SQLITE_OPEN_READWRITE;
    case SqliteDb::Mode::kReadOnly:
      return common | SQLITE_OPEN_READONLY;
  }
  return common | SQLITE_OPEN_READONLY;
}

// Whether the file system holding `path` is mounted read-only (no
// permission change helps then; root is refused too).
bool OnReadOnlyFileSystem(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  struct statvfs info {};
  return ::statvfs(dir.c_str(), &info) == 0 && (info.f_flag & ST_RDONLY) != 0;
}

}  // namespace

SqliteDb::SqliteDb(const std::filesystem::path& path, Mode mode, int busy_timeout_ms)
    : path_(path), mode_(mode), busy_timeout_ms_(busy_timeout_ms) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_, OpenFlags(mode), nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    std::string hint = mode == Mode::kReadWriteCreate
                           ? "check that its directory exists and is writable"
                           : "check that the file exists and is readable";
    throw IoError("experiment log " + path.string() + ": cannot open the file (SQLite: " + detail +
                  "); " + hint);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

SqliteDb::~SqliteDb() {
  // sqlite3_close_v2 defers the close if a statement is still alive; every
  // Statement is RAII, so none should be.
  sqlite3_close_v2(db_);
}

std::string SqliteDb::SetJournalMode(std::string_view mode) {
  const std::string sql = "PRAGMA journal_mode = " + std::string(mode);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    std::string result;
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        result = text != nullptr ? text : "";
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_OK || rc == SQLITE_DONE) return result;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) Fail(rc);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(25));
  }
}

void SqliteDb::Fail(int rc) const {
  // Prefer SQLite's message for this connection when it describes `rc`.
  std::string detail = sqlite3_errstr(rc);
  if (db_ != nullptr && (sqlite3_extended_errcode(db_) & 0xff) == (rc & 0xff)) {
    detail = sqlite3_errmsg(db_);
    if ((rc & 0xff) == rc) rc = sqlite3_extended_errcode(db_);
  }
  const std::string prefix = "experiment log " + path_.string() + ": ";
  const std::string during = operation_.empty() ? "" : " while " + operation_;
  const std::string sqlite = " (SQLite: " + detail + ")";
  const int primary = rc & 0xff;
  if (primary == SQLITE_READONLY && damaged_ && mode_ != Mode::kReadOnly) {
    // PRAGMA query_only, set when the damage was found, refused the write.
    throw DataError(prefix + "refusing to write" + during +
                    ": the file was found damaged, so nothing more is written to it; " +
                    DamagedAdvice());
  }
  if ((primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) && mode_ != Mode::kReadOnly &&
      OnReadOnlyFileSystem(path_)) {
    throw IoError(prefix + "cannot write" + during + ": the file system is mounted read-only" +
                  sqlite +
                  "; remount it read-write (or move the log to a writable disk) and resume the "
                  "run, the rounds committed before are intact");
  }
  switch (rc & 0xff) {
    case SQLITE_FULL:
      throw IoError(prefix + "disk full" + during + sqlite +
                    "; free disk space (or raise the size limit) and resume the run, the rounds "
                    "committed before are intact");
    case SQLITE_READONLY:
      if (mode_ == Mode::kReadOnly) {
        throw IoError(prefix + "cannot write" + during +
                      ": the log is read-only (this connection opened it read-only for reading)" +
                      sqlite);
      }
      throw IoError(prefix + "cannot write" + during + ": the log is read-only" + sqlite +
                    "; check the permissions of the file and of its directory (SQLite creates " +
                    path_.filename().string() + "-wal and " + path_.filename().string() +
                    "-shm next to it)");
    case SQLITE_IOERR:
      throw IoError(prefix + "I/O error" + during + sqlite + ", extended code " +
                    std::to_string(rc) + "; check the disk and the file system");
    case SQLITE_CANTOPEN:
      throw IoError(prefix + "cannot open the file" + during + sqlite +
                    "; check that the file and its directory exist and are writable");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw IoError(prefix + "locked by another writer" + during + sqlite + " after waiting " +
                    std::to_string(busy_timeout_ms_) +
                    " ms; is another process writing this experiment log?");
    case SQLITE_NOTADB:
      throw DataError(prefix + "not an edgefl experiment log (the file is not an SQLite database)" +
                      sqlite);
    case SQLITE_CORRUPT:
      MarkDamaged();
      throw DataError(prefix + "the file is corrupted" + during + sqlite + "; " + DamagedAdvice() +
                      " (PRAGMA integrity_check lists the damage)");
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        throw DuplicateError(prefix + "duplicate record" + during + sqlite);
      }
      throw DataError(prefix + "invalid record" + during + sqlite);
    default:
      throw IoError(prefix + "SQLite error" + during + sqlite);
  }
}

void SqliteDb::CheckNotDamaged() {
  OperationScope scope(*this, "checking the file (PRAGMA quick_check)");
  // At most 3 problems: enough to say what is wrong, and the check stops
  // there instead of listing every damaged page.
  std::vector<std::string> problems;
  sqlite3_stmt* check = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA quick_check(3)", -1, &check, nullptr);
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(check);
    if (rc == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
      problems.emplace_back(text != nullptr ? text : "");
    }
  }
  // Damage the check cannot read past (e.g. a page that is no b-tree page)
  // fails the statement itself: that is SQLite's report then.
  const int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT) problems.emplace_back(sqlite3_errmsg(db_));
  sqlite3_finalize(check);
  if (rc != SQLITE_DONE && primary != SQLITE_CORRUPT) Fail(rc);
  if (problems.size() == 1 && problems.front() == "ok") return;
  std::string report;
  for (const std::string& problem : problems) {
    std::string line = problem;
    std::replace(line.begin(), line.end(), '\n', ' ');
    report += (report.empty() ? "" : "; ") + line;
  }
  MarkDamaged();
  throw DataError("experiment log " + path_.string() +
                  ": the file is damaged (SQLite's PRAGMA quick_check: " + report +
                  "); nothing was written to it; " + DamagedAdvice());
}

void SqliteDb::MarkDamaged() const {
  damaged_ = true;
  if (db_ != nullptr) sqlite3_exec(db_, "PRAGMA query_only = 1", nullptr, nullptr, nullptr);
}

std::string SqliteDb::DamagedAdvice() const {
  return "restore it from a backup, or copy what SQLite can still read into a new file (sqlite3 " +
         path_.string() +
         " .recover | sqlite3 recovered.db) and use that; or point --db (the config's 'db' key) "
         "at another file";
}

void SqliteDb::FailData(const std::string& what) const {
  throw DataError("experiment log " + path_.string() + ": " + what);
}

void SqliteDb::Execute(std::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) Fail(rc);
}

int64_t SqliteDb::QueryInt(std::string_view sql) {
  Statement statement(*this, sql);
  if (!statement.Step()) FailData("no result from \"" + std::string(sql) + "\"");
  return statement.ColumnInt(0);
}

int64_t SqliteDb::LastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}

int64_t SqliteDb::Changes() const {
  return sqlite3_changes64(db_);
}

bool SqliteDb::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

SqliteDb::OperationScope::OperationScope(SqliteDb& db, std::string operation)
    : db_(db), previous_(std::exchange(db.operation_, std::move(operation))) {}

SqliteDb::OperationScope::~OperationScope() {
  db_.operation_ = std::move(previous_);
}

// ---- Statement ---------------------------------------------------------------

Statement::Statement(SqliteDb& db, std::string_view sql) : db_(db) {
  const int rc =
      sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    db.Fail(rc);
  }
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::Check(int rc) const {
  if (rc != SQLITE_OK) db_.Fail(rc);
}

Statement& Statement::Bind(int index, int64_t value) {
  Check(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  if (std::isnan(value)) return BindNull(index);
  Check(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

Statement& Statement::Bind(int index, std::optional<double> value) {
  return value.has_value() ? Bind(index, *value) : BindNull(index);
}

Statement& Statement::Bind(int index, std::string_view text) {
  Check(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlob(int index, const void* data, size_t size) {
  // A zero-length blob must not be bound as NULL: pass a non-null pointer.
  static const char kEmpty = 0;
  Check(sqlite3_bind_blob64(stmt_, index, size == 0 ? &kEmpty : data, size, SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::BindNull(int index) {
  Check(sqlite3_bind_null(stmt_, index));
  return *this;
}

bool Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // The statement must be reset before the connection's error state is
  // reused; sqlite3_errmsg still describes `rc` here.
  db_.Fail(rc);
}

void Statement::Run() {
  while (Step()) {
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_, column);
}

double Statement::ColumnDoubleOrNaN(int column) const {
  return ColumnIsNull(column) ? std::nan("") : ColumnDouble(column);
}

std::optional<double> Statement::ColumnOptionalDouble(int column) const {
  if (ColumnIsNull(column)) return std::nullopt;
  return ColumnDouble(column);
}

std::string Statement::ColumnText(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string Statement::ColumnBlob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return {};
  return std::string(static_cast<const char*>(data),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

// ---- Transaction -------------------------------------------------------------

Transaction::Transaction(SqliteDb& db, Kind kind) : db_(db) {
  db.Execute(kind == Kind::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  // After some errors (SQLITE_FULL, SQLITE_IOERR) SQLite has already rolled
  // the transaction back; a second ROLLBACK would fail.
  if (!done_ && db_.InTransaction()) {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::Commit() {
  done_ = true;
  const int rc = sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return;
  // Build the exception before the rollback overwrites the error message.
  try {
    db_.Fail(rc);
  } catch (...) {
    if (db_.InTransaction()) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace edgefl::storage
