/* cmd_version.c -- `levbot version`: this build and the libraries it runs on. */
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <libwebsockets.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "cli/cli.h"

static int version_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  if (argc > 1) return cli_error("version", CLI_EXIT_USAGE, "unexpected argument %s", argv[1]);
  printf("levbot %s\n", LEVBOT_VERSION);
  printf("  libcurl %s, %s, jansson %s, sqlite %s, libpq %d,\n", curl_version_info(CURLVERSION_NOW)->version,
         OpenSSL_version(OPENSSL_VERSION), jansson_version_str(), sqlite3_libversion(), PQlibVersion());
  printf("  libmicrohttpd %s, libwebsockets %s\n", MHD_get_version(), lws_get_library_version());
  return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_version = {"version", "print the version of levbot and its libraries",
                                 "Usage: levbot version", version_run};
