// bursar serve: the gateway on the configuration at a repository's HEAD, until SIGTERM/SIGINT.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sync_serve.h"
#include "server/gateway_server.h"

namespace bursar::cli {

Runner SetupServe(CLI::App& sub) {
  struct Args {
    std::string repo;
    std::string listen = "127.0.0.1:8080";
    std::string data;
    std::string store;
    int workers = 0;
    std::string admin_token_env;
    bool fsync = false;
    int drain_ms = 10000;
    size_t max_body_bytes = 32 << 20;
    int poll_ms = 0;
    SyncServeFlags sync;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("--repo", args->repo, "Desired-state repository (Git work tree or directory)")
      ->required();
  sub.add_option("--listen", args->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  sub.add_option("--data", args->data, "Data folder: spend log and SQLite ledger")->required();
  sub.add_option("--store", args->store, "Ledger database URL (default: SQLite under --data)");
  sub.add_option("--workers", args->workers, "Worker threads (default: one per CPU)");
  sub.add_option("--admin-token-env", args->admin_token_env,
                 "Environment variable holding the admin token (admin API off without it)");
  sub.add_flag("--fsync", args->fsync,
               "fdatasync the spend log before each response (survives power loss, slower); "
               "without it records survive a kill -9 of bursar");
  sub.add_option("--max-body-bytes", args->max_body_bytes, "Largest request body (413 beyond)")
      ->capture_default_str();
  sub.add_option("--poll-ms", args->poll_ms, "Same as --sync-interval, in milliseconds");
  sub.add_option("--drain-ms", args->drain_ms, "How long shutdown waits for in-flight requests")
      ->capture_default_str();
  AddSyncServeFlags(sub, &args->sync);
  return [args]() -> int {
    // Block the shutdown signals before any thread starts, so that only sigwait sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    server::ServeOptions options;
    Status st = server::ParseListen(args->listen, &options.host, &options.port);
    if (!st.ok()) {
      std::fprintf(stderr, "bursar serve: %s\n", st.message().c_str());
      return kExitUsage;
    }
    options.data_dir = args->data;
    options.store_url = args->store;
    options.workers = args->workers;
    options.fsync = args->fsync;
    options.max_body_bytes = args->max_body_bytes;
    if (!args->admin_token_env.empty()) {
      const char* token = std::getenv(args->admin_token_env.c_str());
      if (!token || !*token) {
        std::fprintf(stderr, "bursar serve: environment variable %s is empty\n",
                     args->admin_token_env.c_str());
        return kExitUsage;
      }
      options.admin_token = token;
    }
    // A Git repository or URL is followed live (cli/sync_serve.h): polled every --sync-interval,
    // synced at once on POST /hooks/git; a plain directory is read once.
    std::unique_ptr<SyncServe> sync;
    StatusOr<config::DesiredStatePtr> state = InvalidArgumentError("no configuration");
    if (FollowsGit(args->repo)) {
      if (args->poll_ms > 0) args->sync.sync_interval = std::to_string(args->poll_ms) + "ms";
      auto begun =
          SyncServe::Begin(args->sync, args->repo, args->data, args->store, options.admin_token);
      if (!begun.ok()) {
        std::fprintf(stderr, "bursar serve: %s\n", begun.status().message().c_str());
        return kExitUsage;
      }
      sync = std::move(*begun);
      sync->Hook(&options);
      state = sync->first_state();
    } else {
      state = server::LoadRepositoryHead(args->repo);
    }
    if (!state.ok()) {
      std::fprintf(stderr, "bursar serve: %s\n", state.status().message().c_str());
      return kExitUsage;
    }
    std::string commit = (*state)->revision.empty() ? "(directory)" : (*state)->revision;
    auto server = server::GatewayServer::Start(options, *state);
    if (!server.ok()) {
      std::fprintf(stderr, "bursar serve: %s\n", server.status().ToString().c_str());
      return kExitUsage;
    }
    if (sync) {
      if (Status attached = sync->Attach(server->get()); !attached.ok()) {
        std::fprintf(stderr, "bursar serve: %s\n", attached.ToString().c_str());
        return kExitUsage;
      }
    }
    std::printf("bursar: serving on %s:%u (commit %s)\n", options.host.c_str(),
                static_cast<unsigned>((*server)->port()), commit.c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    if (sync) sync->Stop();
    std::printf("bursar: %s, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::fflush(stdout);
    Status stopped = (*server)->Stop(std::chrono::milliseconds(args->drain_ms));
    if (!stopped.ok()) {
      std::fprintf(stderr, "bursar serve: ledger close: %s\n", stopped.ToString().c_str());
      return 1;
    }
    std::printf("bursar: stopped\n");
    return kExitOk;
  };
}

}  // namespace bursar::cli
