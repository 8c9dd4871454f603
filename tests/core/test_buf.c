/* test_buf.c -- the growable buffer. */
#include <stdlib.h>

#include "core/buf.h"
#include "unit.h"

TEST(buf_appends_and_formats) {
  lb_buf b;
  lb_buf_init(&b);
  CHECK_STREQ(b.data, "");
  for (int i = 0; i < 1000; i++) REQUIRE_OK(lb_buf_printf(&b, "%d,", i));
  CHECK_EQ(b.len, strlen(b.data));
  CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
  lb_buf_reset(&b);
  CHECK_STREQ(b.data, "");
  REQUIRE_OK(lb_buf_puts(&b, "abc"));
  char *s = lb_buf_steal(&b);
  CHECK_STREQ(s, "abc");
  free(s);
  CHECK_EQ(b.len, 0);
  lb_buf_free(&b);
}

TEST(buf_read_file_reports_missing_file) {
  lb_buf b;
  lb_buf_init(&b);
  lb_errbuf eb;
  CHECK_EQ(lb_buf_read_file(&b, "/nonexistent/file.csv", 0, &eb), LB_EIO);
  CHECK_CONTAINS(eb.msg, "/nonexistent/file.csv");
  lb_buf_free(&b);
}
