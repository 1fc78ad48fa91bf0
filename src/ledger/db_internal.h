// Private to ledger/db*.cc: the two backends' entry points and a helper they share.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ledger/db.h"

namespace bursar::ledger::internal {

// SQL text cut to 120 characters on one line, for error messages.
std::string Shorten(std::string_view sql);

// Opens (creating) the SQLite file at `path`, WAL mode; `url` is what display_url() shows.
StatusOr<std::unique_ptr<Db>> OpenSqlite(const std::string& path, const std::string& url);

// Connects to PostgreSQL at a postgres:// or postgresql:// URL.
StatusOr<std::unique_ptr<Db>> OpenPostgres(const std::string& url);

// The URL with its password replaced by ***, for messages.
std::string RedactUrl(const std::string& url);

}  // namespace bursar::ledger::internal
