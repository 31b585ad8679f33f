/* check.h — shared header of the C unit tests (tests/c/test_*.c, built against libloupe.a).
 *
 * cmocka needs <stdarg.h>, <stddef.h>, <setjmp.h> and <stdint.h> before <cmocka.h>; this
 * header includes them in that order, then the core headers every test uses, and adds a few
 * assertions for loupe's conventions (errors reported through err_msg()). A test file is:
 *
 *   #include "check.h"
 *   static void test_something(void **state) { (void)state; assert_int_equal(1, 1); }
 *   int main(void)
 *   {
 *       const struct CMUnitTest tests[] = {cmocka_unit_test(test_something)};
 *       return cmocka_run_group_tests(tests, NULL, NULL);
 *   }
 */
#ifndef LOUPE_TESTS_CHECK_H
#define LOUPE_TESTS_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core.h"
#include "loupe/tensor.h"

/* The last core error (err_msg()) contains `needle`; prints both when it does not. */
#define assert_err_contains(needle)                                                          \
    do {                                                                                     \
        const char *msg_ = err_msg();                                                        \
        if (!strstr(msg_, (needle)))                                                         \
            fail_msg("error message \"%s\" does not contain \"%s\"", msg_, (needle));        \
    } while (0)

/* |a - b| <= tol * (1 + |b|), printing both values when not. */
#define assert_close(a, b, tol)                                                              \
    do {                                                                                     \
        double a_ = (a), b_ = (b);                                                           \
        if (!(fabs(a_ - b_) <= (tol) * (1 + fabs(b_))))                                      \
            fail_msg("%s = %.9g, expected %.9g (tol %g)", #a, a_, b_, (double)(tol));        \
    } while (0)

#endif
