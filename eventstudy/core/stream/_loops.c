/* The streamed passes' heaviest loops in C (eventstudy.core.stream.kernel says what each stands
 * in for). Each does the numpy steps' arithmetic in their order, so that which one runs changes
 * the time, never a number: built without fused multiply-adds or any reassociation
 * (-ffp-contract=off, no -ffast-math; setup.py), each row's sums in numpy's pairwise order.
 * The arrays come through the buffer protocol, C-contiguous, of the kinds each loop names, and
 * every index into another array is checked to fall inside it; the loops run without the GIL,
 * so the stream's threads run them side by side. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each loop compiled for the processor's wider vectors too, the one to run chosen when the module
 * loads (GCC's function multi-versioning; where that is not supported, for the compiler's default
 * target): a module built on one machine runs on any of its architecture. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WIDE __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WIDE
#endif

/* ---- the arguments: arrays from the buffer protocol, checked against a signature ---------- */

enum { MAX_ARGS = 16 };

typedef struct {
    Py_buffer views[MAX_ARGS];
    int n;
} Held;

static void release(Held *held)
{
    for (int i = 0; i < held->n; i++)
        PyBuffer_Release(&held->views[i]);
    held->n = 0;
}

/* One argument: an array's data and shape, or a scalar's value. */
typedef struct {
    void *data;
    Py_ssize_t shape[3];
    Py_ssize_t value;
} Arg;

/* The type letter of an array's items (d float64, q int64, Q uint64, I uint32, ? bool), or 0. */
static char letter_of(const Py_buffer *v)
{
    const char *f = v->format ? v->format : "B";
    while (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!')
        f++;
    if (f[0] == '\0' || f[1] != '\0')
        return 0;
    switch (f[0]) {
    case 'd': return v->itemsize == 8 ? 'd' : 0;
    case 'q': case 'l': case 'n': return v->itemsize == 8 ? 'q' : 0;
    case 'Q': case 'L': case 'N': return v->itemsize == 8 ? 'Q' : v->itemsize == 4 ? 'I' : 0;
    case 'I': return v->itemsize == 4 ? 'I' : 0;
    case '?': return v->itemsize == 1 ? '?' : 0;
    default: return 0;
    }
}

static const char *type_name(char letter)
{
    return letter == 'd'   ? "float64"
           : letter == 'q' ? "int64"
           : letter == 'Q' ? "uint64"
           : letter == 'I' ? "uint32"
                           : "bool";
}

/* The next space-separated word of ``*at`` into ``word`` (at most 31 characters); 0 at the end. */
static int next_word(const char **at, char *word)
{
    while (**at == ' ')
        (*at)++;
    int n = 0;
    while (**at && **at != ' ' && n < 31)
        word[n++] = *(*at)++;
    word[n] = '\0';
    return n;
}

/* ``args`` as a loop's arguments, checked against its ``signature``: one word an argument, an
 * array as its type letter and its dimensions, e.g. d(n,g)! -- each dimension a letter naming a
 * size every array with that letter shares (``sizes``, by letter) or a number; a trailing ! when
 * the loop writes it -- or a scalar, n (an index) or p (a truth value). Arrays must be
 * C-contiguous (the loops read raw memory). ``names`` names the arguments, one word each, for the
 * errors. Fills ``out``; 0 with a Python error set when an argument does not fit. */
static int unpack(PyObject *args, const char *signature, const char *names, Held *held, Arg *out, Py_ssize_t *sizes)
{
    char sig[32], name[32];
    const char *s = signature, *nm = names;
    for (int i = 0; i < 26; i++)
        sizes[i] = -1;
    Py_ssize_t count = PyTuple_GET_SIZE(args), i = 0;
    for (; next_word(&s, sig) && next_word(&nm, name); i++) {
        if (i >= count || i >= MAX_ARGS) {
            PyErr_Format(PyExc_TypeError, "the loop takes the arguments (%s); %zd were given", names, count);
            return 0;
        }
        PyObject *obj = PyTuple_GET_ITEM(args, i);
        if (sig[0] == 'n' || sig[0] == 'p') {
            out[i].value = sig[0] == 'n' ? PyNumber_AsSsize_t(obj, PyExc_OverflowError) : PyObject_IsTrue(obj);
            if (out[i].value == -1 && PyErr_Occurred())
                return 0;
            continue;
        }
        int writable = strchr(sig, '!') != NULL, ndim = 1;
        for (const char *c = sig + 2; *c && *c != ')'; c++)
            ndim += *c == ',';
        Py_buffer *v = &held->views[held->n];
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(obj, v, flags) < 0) {
            PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s array of %s", name, writable ? " writable" : "",
                         type_name(sig[0]));
            return 0;
        }
        held->n++;
        if (letter_of(v) != sig[0] || v->ndim != ndim) {
            PyErr_Format(PyExc_TypeError, "%s must be a %d-dimensional array of %s", name, ndim, type_name(sig[0]));
            return 0;
        }
        out[i].data = v->buf;
        for (int d = 0; d < ndim; d++) {
            char dim = sig[2 + 2 * d];
            Py_ssize_t got = v->shape[d], *want = dim >= 'a' && dim <= 'z' ? &sizes[dim - 'a'] : NULL;
            Py_ssize_t expected = want ? *want : dim - '0';
            if (want && *want < 0)
                *want = got;
            else if (got != expected) {
                PyErr_Format(PyExc_ValueError, "%s has %zd along axis %d where %zd was expected", name, got, d,
                             expected);
                return 0;
            }
            out[i].shape[d] = got;
        }
    }
    if (i != count) {
        PyErr_Format(PyExc_TypeError, "the loop takes the arguments (%s); %zd were given", names, count);
        return 0;
    }
    return 1;
}

/* Scratch memory for a loop (freed by done), or NULL with MemoryError set. */
static void *scratch_of(size_t bytes)
{
    void *p = PyMem_RawMalloc(bytes ? bytes : 1);
    if (!p)
        PyErr_NoMemory();
    return p;
}

/* A wrapper's end: its scratch freed and its arrays released; None, or NULL when it failed (the
 * error set). */
static PyObject *done(Held *held, void *scratch, int failed)
{
    PyMem_RawFree(scratch);
    release(held);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *refuse(const char *message)
{
    PyErr_SetString(PyExc_ValueError, message);
    return NULL;
}

/* Whether each of the ``n`` indices ``idx`` falls in [0, bound): what a loop reads or writes at
 * them is inside the array they index. */
static int inside(const int64_t *idx, Py_ssize_t n, Py_ssize_t bound)
{
    int64_t bad = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        bad |= (idx[i] < 0) | (idx[i] >= bound);
    return !bad;
}

/* ---- the ARs' sort keys and ranks --------------------------------------------------------- */

enum { CODE_BITS = 9 }; /* a 32-bit key's bits for the column (row_codes) */
#define CODE_COLUMNS (1 << CODE_BITS)
#define CODE_MAX 0x7FFFFEu     /* the largest code of a finite value */
#define CODE_MISSING 0x7FFFFFu /* the code of a value that is not finite: after every other */

/* Each value's 64-bit sort key, unsorted: the value in single precision (+inf where not finite,
 * -0 made +0), its bits made to order as the values do (every bit flipped when negative, else
 * the sign bit set) in the high half, its column in the low. */
WIDE static void row_keys(const double *restrict ar, uint64_t *restrict keys, float *restrict single, Py_ssize_t n,
                     Py_ssize_t g)
{
    const uint32_t *bits = (const uint32_t *)single;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *row = ar + i * g;
        uint64_t *out = keys + i * g;
        for (Py_ssize_t c = 0; c < g; c++) {
            float f = (float)row[c];
            single[c] = (fabs(row[c]) <= DBL_MAX ? f : INFINITY) + 0.0f; /* +inf where not finite */
        }
        for (Py_ssize_t c = 0; c < g; c++) {
            uint32_t b = bits[c];
            /* every bit flipped when negative, else the sign bit set */
            b ^= (uint32_t)((int32_t)b >> 31) | 0x80000000u;
            out[c] = ((uint64_t)b << 32) | (uint64_t)c;
        }
    }
}

/* Whether ``v`` is finite, from its bits (as the fast-math build of row_range reads it too). */
static inline int finite_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return ((b >> 52) & 0x7FF) != 0x7FF;
}

/* The least and largest finite values of ``row`` (``lo`` > ``hi`` when none). Built to treat every
 * value it compares as finite and signed zeros as one (the values that are not finite are left
 * out by their bits, and a zero's sign does not change a code), so that GCC vectorizes it. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("finite-math-only", "no-signed-zeros")))
#endif
WIDE static void row_range(const double *restrict row, Py_ssize_t g, double *lo_out, double *hi_out)
{
    double lo = DBL_MAX, hi = -DBL_MAX;
    int any = 0;
    for (Py_ssize_t c = 0; c < g; c++) {
        double v = row[c];
        int ok = finite_bits(v);
        any |= ok;
        double a = ok ? v : DBL_MAX, b = ok ? v : -DBL_MAX;
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
    }
    *lo_out = any ? lo : 1.0;
    *hi_out = any ? hi : 0.0;
}

/* Each value's 32-bit sort key, unsorted, for rows of at most CODE_COLUMNS columns: its place on the
 * row's range [lo, hi] of finite values in CODE_MAX + 1 steps, (v - lo) x CODE_MAX / (hi - lo)
 * truncated (an order-keeping map: values a step apart or more keep their order, closer ones may
 * share a code), in the high 23 bits, its column in the low 9; CODE_MISSING where not finite. A row
 * without two distinct finite values (or whose range overflows) shares codes among its finite
 * values (then it is ranked again from 64-bit keys). */
WIDE static void row_codes(const double *restrict ar, uint32_t *restrict keys, Py_ssize_t n, Py_ssize_t g)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *row = ar + i * g;
        uint32_t *out = keys + i * g;
        double lo, hi;
        row_range(row, g, &lo, &hi);
        double scale = (double)CODE_MAX / (hi - lo);
        if (!(scale >= 0.0 && scale <= DBL_MAX))
            scale = 0.0;
        for (Py_ssize_t c = 0; c < g; c++) {
            double v = row[c], at = (v - lo) * scale;
            /* below CODE_MAX (< 2^31): converted through int32, which every vector set has */
            int32_t code = fabs(v) <= DBL_MAX ? (at < (double)CODE_MAX ? (int32_t)at : (int32_t)CODE_MAX)
                                              : (int32_t)CODE_MISSING;
            out[c] = (uint32_t)code << CODE_BITS | (uint32_t)c;
        }
    }
}

/* A sorted key's value (its code) and its column, of 64-bit keys (row_keys) or, ``narrow``, 32-bit ones
 * (row_codes). */
#define KEY_AT(p) (narrow ? (uint64_t)(row32[p] >> CODE_BITS) : row[p] >> 32)
#define COL_AT(p) (narrow ? (Py_ssize_t)(row32[p] & (CODE_COLUMNS - 1)) : (Py_ssize_t)(row[p] & 0xFFFFFFFFu))

/* From each row's sorted keys (64-bit, or ``narrow`` 32-bit): its standardized ranks ``u`` (rank x
 * 1 / (1 + the row's valid values), zero where not valid); in ``rank`` (``r_cols`` columns; none when GRANK is not a
 * test) each estimation day's rank among the row's estimation days with a key (``est_at``: a
 * column's estimation day, or -1; zero where not valid); ``near``: whether two keys of the row
 * other than ``missing`` are equal. */
static inline __attribute__((always_inline)) void ranks_of(const void *keys, int narrow, const char *valid,
                                                             const int64_t *est_at, uint32_t missing, double *u,
                                                             double *rank, Py_ssize_t r_cols, char *near,
                                                             double *standardized, double *by_col, Py_ssize_t n,
                                                             Py_ssize_t g)
{
    int64_t table_for = -1; /* the valid values' number ``standardized`` holds the ranks of */
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint64_t *row = (const uint64_t *)keys + i * g;
        const uint32_t *row32 = (const uint32_t *)keys + i * g;
        const char *ok = narrow ? NULL : valid + i * g;
        double *ui = u + i * g;
        double *ri = rank + i * r_cols;
        Py_ssize_t keyed = g; /* the keys before the missing ones, sorted last */
        while (keyed > 0 && KEY_AT(keyed - 1) == missing)
            keyed--;
        int64_t n_valid = keyed; /* a 32-bit key is missing exactly where its value is not finite */
        if (!narrow) {
            n_valid = 0;
            for (Py_ssize_t c = 0; c < g; c++)
                n_valid += ok[c] != 0;
        }
        if (n_valid != table_for) { /* a product by one reciprocal: a division each took a third of the loop */
            double scale = 1.0 / (1.0 + (double)n_valid);
            for (Py_ssize_t p = 0; p < g; p++)
                standardized[p] = ((double)p + 1.0) * scale;
            table_for = n_valid;
        }
        if (keyed == n_valid) { /* the keyed values are the valid ones: no look-up of ``valid`` */
            char tie = 0;
            for (Py_ssize_t p = 1; p < keyed; p++) /* a pass of its own, vectorized */
                tie |= KEY_AT(p) == KEY_AT(p - 1);
            if (r_cols) {
                /* each column's rank among the estimation days, ``by_col``: its rank less the other
                 * days before it (without a branch on which are estimation days: a few a row, at
                 * random places in its order, each mispredicted), then the estimation days' taken
                 * in column order, where the branch follows the same pattern every row */
                int64_t others = 0;
                for (Py_ssize_t p = 0; p < keyed; p++) {
                    Py_ssize_t col = COL_AT(p);
                    ui[col] = standardized[p];
                    others += est_at[col] < 0;
                    by_col[col] = (double)(p + 1 - others);
                }
                for (Py_ssize_t p = keyed; p < g; p++) {
                    Py_ssize_t col = COL_AT(p);
                    ui[col] = 0.0;
                    by_col[col] = 0.0;
                }
                for (Py_ssize_t c = 0; c < g; c++)
                    if (est_at[c] >= 0)
                        ri[est_at[c]] = by_col[c];
            } else {
                for (Py_ssize_t p = 0; p < keyed; p++)
                    ui[COL_AT(p)] = standardized[p];
                for (Py_ssize_t p = keyed; p < g; p++)
                    ui[COL_AT(p)] = 0.0;
            }
            if (tie)
                near[i] = 1;
            continue;
        }
        int64_t count = 0;
        uint64_t last = missing;
        for (Py_ssize_t p = 0; p < g; p++) {
            Py_ssize_t col = COL_AT(p);
            uint64_t key = KEY_AT(p);
            if (p && key == last && key != missing)
                near[i] = 1;
            last = key;
            ui[col] = ok[col] ? standardized[p] : 0.0;
            if (r_cols && est_at[col] >= 0) {
                if (key != missing)
                    count++;
                ri[est_at[col]] = ok[col] ? (double)count : 0.0;
            }
        }
    }
}

#undef KEY_AT
#undef COL_AT

WIDE static void place_ranks(const uint64_t *keys, const char *valid, const int64_t *est_at, uint32_t missing,
                             double *u, double *rank, Py_ssize_t r_cols, char *near, double *standardized,
                             double *by_col, Py_ssize_t n, Py_ssize_t g)
{
    ranks_of(keys, 0, valid, est_at, missing, u, rank, r_cols, near, standardized, by_col, n, g);
}

/* place_ranks from 32-bit keys (row_codes), which are missing exactly where a value is not finite:
 * no ``valid`` to read. */
WIDE static void place_codes(const uint32_t *keys, const int64_t *est_at, uint32_t missing, double *u,
                             double *rank, Py_ssize_t r_cols, char *near, double *standardized, double *by_col,
                             Py_ssize_t n, Py_ssize_t g)
{
    ranks_of(keys, 1, NULL, est_at, missing, u, rank, r_cols, near, standardized, by_col, n, g);
}

/* Whether each of the ``n`` sort keys (``narrow``: 32-bit) names a column below ``g``: a pass of its
 * own, vectorized (checked inside place_ranks' loop it took a fifth of the loop's time). */
WIDE static int columns_inside(const void *keys, int narrow, Py_ssize_t n, Py_ssize_t g)
{
    uint64_t bad = 0;
    if (narrow)
        for (Py_ssize_t i = 0; i < n; i++)
            bad |= (((const uint32_t *)keys)[i] & (CODE_COLUMNS - 1)) >= (uint64_t)g;
    else
        for (Py_ssize_t i = 0; i < n; i++)
            bad |= (((const uint64_t *)keys)[i] & 0xFFFFFFFFu) >= (uint64_t)g;
    return !bad;
}

/* ---- the first pass's running sums -------------------------------------------------------- */

WIDE static double pairwise_sum(const double *a, Py_ssize_t lo, Py_ssize_t n, int squares);

enum { MOST_MOMENTS = 64 }; /* the moments of a firm's running sums kept on the stack: 2 (K + 1) + K (K + 1) / 2 + 2 */

/* Sessions r0 .. r1 - 1 of one firm added to its ``running`` sums (see firm_sums), one after
 * another: between two sessions where an event's sums are read, nothing but the additions, so the
 * compiler keeps the sums in registers and the loop has no branch to take but its own. The flag
 * of a return set aside is added only where the firm has one (elsewhere it adds +0, which changes
 * no sum: each starts at +0 and only grows). */
static inline __attribute__((always_inline)) void add_sessions(
    const char *restrict ok, const double *restrict yr, const char *restrict aside, const double *restrict rr,
    int any_blocked, double s, const double *restrict x0, const double *restrict products, Py_ssize_t r0,
    Py_ssize_t r1, double *restrict running, const Py_ssize_t k1, const Py_ssize_t n_pairs)
{
    const Py_ssize_t k = k1 + 1, iy = k + n_pairs;
    for (Py_ssize_t r = r0; r < r1; r++) {
        double w = ok[r] ? 1.0 : 0.0, d = ok[r] ? yr[r] - s : 0.0;
        const double *xr = x0 + r * k1, *pr = products + r * n_pairs;
        running[0] += w;
        running[iy] += d;
        running[iy + k] += d * d;
        if (any_blocked)
            running[iy + k + 1] += aside[r] && fabs(rr[r]) <= DBL_MAX ? 1.0 : 0.0;
        for (Py_ssize_t j = 0; j < k1; j++) {
            running[1 + j] += w * xr[j];
            running[iy + 1 + j] += d * xr[j];
        }
        for (Py_ssize_t p = 0; p < n_pairs; p++)
            running[k + p] += w * pr[p];
    }
}

/* One firm's running sums (see estimation_sums), from its valid flags ``ok``, its y, its returns
 * ``rr`` set ``aside`` (read only when ``any_blocked``) and its ``shift``; its events
 * by_start[ps:end] and by_stop[pe:end]. The sessions up to the next where an event's sums are
 * read (S[r] after session r - 1) are added at once (add_sessions), then those events take
 * them. Inlined for each number of regressors ``k1`` and of their products ``n_pairs`` the
 * models have, so that the sums are kept in registers: in memory, each session's additions
 * waited for the last session's stores (8 ns a cell, against 2). */
static inline __attribute__((always_inline)) void firm_sums(
    const char *restrict ok, const double *restrict yr, const char *restrict aside, const double *restrict rr,
    int any_blocked, double s, const double *restrict x0, const double *restrict products,
    const int64_t *restrict starts, const int64_t *restrict stops, const int64_t *restrict by_start,
    const int64_t *restrict by_stop, Py_ssize_t ps, Py_ssize_t pe, Py_ssize_t end, double *restrict out,
    double *restrict spill, Py_ssize_t t, const Py_ssize_t k1, const Py_ssize_t n_pairs)
{
    const Py_ssize_t k = k1 + 1, m = 2 * k + n_pairs + 2;
    double local[MOST_MOMENTS];
    double *restrict running = m <= MOST_MOMENTS ? local : spill; /* ``spill``: m of them, for more */
    for (Py_ssize_t j = 0; j < m; j++)
        running[j] = 0.0;
    Py_ssize_t r = 0;
    while (r < t && (ps < end || pe < end)) {
        Py_ssize_t next = t; /* the next session whose running sums an event reads: past every one before */
        if (ps < end && starts[by_start[ps]] < next)
            next = starts[by_start[ps]];
        if (pe < end && stops[by_stop[pe]] < next)
            next = stops[by_stop[pe]];
        if (any_blocked)
            add_sessions(ok, yr, aside, rr, 1, s, x0, products, r, next, running, k1, n_pairs);
        else
            add_sessions(ok, yr, aside, rr, 0, s, x0, products, r, next, running, k1, n_pairs);
        r = next;
        while (ps < end && starts[by_start[ps]] == r) { /* S[r] is the running sums now */
            double *o = out + by_start[ps] * m;
            for (Py_ssize_t j = 0; j < m; j++)
                o[j] += -1.0 * running[j];
            ps++;
        }
        while (pe < end && stops[by_stop[pe]] == r) {
            double *o = out + by_stop[pe] * m;
            for (Py_ssize_t j = 0; j < m; j++)
                o[j] += running[j];
            pe++;
        }
    }
}

/* From firm-major arrays (``y``, ``returns`` and ``blocked``: firms x sessions): into ``valid``
 * (firms x sessions) the valid days, where y is finite, the regressors too (``x_ok``) and the day
 * is not ``blocked``; each firm's ``shift``, the mean of its valid returns (their sum in numpy's
 * pairwise order over the firm's row, the others zero, over their number); and into ``out``
 * (events x moments, zero) the sum over the sessions [start, stop) of the event's firm's moments
 * -- 1, x, x_i x_j (``pairs``; each session's products once, in ``products``: sessions x pairs),
 * y - shift, (y - shift) x, (y - shift)^2, each where ``valid`` (zero elsewhere), and 1 where a
 * return (finite) is ``blocked`` for another event -- as S[stop] - S[start] of the running sums S,
 * added session after session. A firm at a time, its row read in order, up to the session its
 * last event needs (firm_sums); ``firm_lo``: where each firm's events start in ``by_start`` and
 * ``by_stop``, its events in the order of their starts and of their stops. */
WIDE static void estimation_sums(char *restrict valid, const double *restrict x0, const char *restrict x_ok,
                                 const double *restrict y, const double *restrict returns,
                                 const char *restrict blocked,
                                 const int64_t *restrict starts, const int64_t *restrict stops,
                                 const int64_t *restrict by_start, const int64_t *restrict by_stop,
                                 const int64_t *restrict firm_lo, const int64_t *restrict pairs,
                                 double *restrict shift, double *restrict out, double *restrict masked,
                                 double *restrict products, double *restrict spill, Py_ssize_t t, Py_ssize_t f,
                                 Py_ssize_t k1, Py_ssize_t n_pairs)
{
    for (Py_ssize_t r = 0; r < t; r++)
        for (Py_ssize_t p = 0; p < n_pairs; p++)
            products[r * n_pairs + p] = x0[r * k1 + pairs[2 * p]] * x0[r * k1 + pairs[2 * p + 1]];
    for (Py_ssize_t c = 0; c < f; c++) {
        char *ok = valid + c * t;
        const char *aside = blocked + c * t;
        const double *yr = y + c * t, *rr = returns + c * t;
        int64_t count = 0;
        for (Py_ssize_t r = 0; r < t; r++) { /* the valid days as they are read: y finite, x too, not set aside */
            char good = (char)((fabs(yr[r]) <= DBL_MAX) & (x_ok[r] != 0) & (aside[r] == 0));
            ok[r] = good;
            masked[r] = good ? yr[r] : 0.0;
            count += good;
        }
        double s = (0.0 + pairwise_sum(masked, 0, t, 0)) / (double)(count > 1 ? count : 1);
        shift[c] = s;
        /* most firms have no days blocked: their returns need not be read */
        int any_blocked = memchr(aside, 1, (size_t)t) != NULL;
        Py_ssize_t ps = firm_lo[c], pe = firm_lo[c], end = firm_lo[c + 1];
        while (ps < end && starts[by_start[ps]] <= 0) /* S[0] is zero */
            ps++;
        while (pe < end && stops[by_stop[pe]] <= 0)
            pe++;
#define FIRM_SUMS(K1, PAIRS)                                                                                          \
    firm_sums(ok, yr, aside, rr, any_blocked, s, x0, products, starts, stops, by_start, by_stop, ps, pe, end, out,     \
              spill, t, K1, PAIRS)
        if (k1 == 0 && n_pairs == 0)
            FIRM_SUMS(0, 0); /* the mean-adjusted model */
        else if (k1 == 1 && n_pairs == 1)
            FIRM_SUMS(1, 1); /* the market model */
        else if (k1 == 3 && n_pairs == 6)
            FIRM_SUMS(3, 6); /* three factors */
        else
            FIRM_SUMS(k1, n_pairs);
#undef FIRM_SUMS
    }
}

/* ---- the second pass's ARs on the grid ---------------------------------------------------- */

/* Each firm-event's (firm ``cols[e]``, session ``pos[e]``) AR on every relative day of ``grid``:
 * y - shift - theta_0 - sum theta_i (x_i - mean x_i) (y - shift alone when not ``estimated``),
 * NaN outside the data (``y``: firms x sessions) and on estimation days (``in_est``) that are
 * not ``valid``; ``ok``: the estimation days that are; ``counts`` (events x 2): how many they
 * are, and how many of them have an AR above zero. */
WIDE static void grid_residuals(const double *y, const char *valid, const double *x, const int64_t *pos,
                           const int64_t *cols, const int64_t *grid, const char *in_est, const double *shift,
                           const double *x_mean, const double *theta, int estimated, double *ar, char *ok,
                           int64_t *counts, Py_ssize_t n, Py_ssize_t g, Py_ssize_t t, Py_ssize_t k1)
{
    Py_ssize_t k = k1 + 1;
    int consecutive = 1; /* the grid's days one after another: a row inside the data is a run of it */
    for (Py_ssize_t d = 1; d < g; d++)
        consecutive &= grid[d] == grid[d - 1] + 1;
    for (Py_ssize_t e = 0; e < n; e++) {
        int64_t c = cols[e];
        const double *yc = y + c * t, *th = theta + e * k;
        const char *vc = valid + c * t;
        double *are = ar + e * g;
        char *oke = ok + e * g;
        int64_t first = g ? pos[e] + grid[0] : 0;
        if (consecutive && first >= 0 && first + g <= t) {
            /* the same operations in the same order as below: for the market model in one loop over
             * the row (a third less time than a loop a step), for the others a step at a time */
            const double *ye = yc + first;
            const char *ve = vc + first;
            double s = shift[c];
            if (estimated && k1 == 1) {
                const double *x1 = x + first;
                double t0 = th[0], b = th[1], m = x_mean[0];
                for (Py_ssize_t d = 0; d < g; d++) {
                    double v = ye[d] - s;
                    v = v - t0;
                    v -= b * (x1[d] - m);
                    char good = (char)(in_est[d] && ve[d]);
                    oke[d] = good;
                    are[d] = in_est[d] && !good ? NAN : v;
                }
            } else {
                for (Py_ssize_t d = 0; d < g; d++)
                    are[d] = ye[d] - s;
                if (estimated) {
                    double t0 = th[0];
                    for (Py_ssize_t d = 0; d < g; d++)
                        are[d] = are[d] - t0;
                    for (Py_ssize_t i = 0; i < k1; i++) {
                        const double *xi = x + first * k1 + i;
                        double b = th[1 + i], m = x_mean[i];
                        for (Py_ssize_t d = 0; d < g; d++)
                            are[d] -= b * (xi[d * k1] - m);
                    }
                }
                for (Py_ssize_t d = 0; d < g; d++) {
                    char good = (char)(in_est[d] && ve[d]);
                    oke[d] = good;
                    are[d] = in_est[d] && !good ? NAN : are[d];
                }
            }
        } else {
            for (Py_ssize_t d = 0; d < g; d++) {
                int64_t at = pos[e] + grid[d];
                int good = 0;
                double value = NAN;
                if (0 <= at && at < t) {
                    value = yc[at] - shift[c];
                    if (estimated) {
                        value = value - th[0];
                        for (Py_ssize_t i = 0; i < k1; i++)
                            value -= th[1 + i] * (x[at * k1 + i] - x_mean[i]);
                    }
                    good = in_est[d] && vc[at];
                }
                if (in_est[d] && !good)
                    value = NAN;
                are[d] = value;
                oke[d] = (char)good;
            }
        }
        int64_t n_ok = 0, n_up = 0;
        for (Py_ssize_t d = 0; d < g; d++) { /* a loop of its own: the one above stays free of the counts' branches */
            n_ok += oke[d];
            n_up += oke[d] & (are[d] > 0);
        }
        counts[2 * e] = n_ok;
        counts[2 * e + 1] = n_up;
    }
}

/* ---- GRANK's comparisons ------------------------------------------------------------------ */

/* GRANK's comparisons (Kolari & Pynnönen 2011) of each row's SARs, ar[i, lo : lo + dc] / sigma[i],
 * with its SCAR* of each window and group, bar[i, k] (k = window x groups + group; take[i, k]:
 * whether the row is the window's and the group's): 1 where above, 1/2 where equal, 0 elsewhere
 * (NaN included), times weight[i], added into total[k] (zero) row after row; each row's counts
 * above[i, k] and tied[i, k] (0 where not taken). A row's SARs are worked out once, into ``sar``
 * (room for dc), for all its windows and groups. */
WIDE static void compare_sars(const double *ar, Py_ssize_t g_cols, Py_ssize_t lo, const double *sigma,
                              const char *take, const double *bar, const double *weight, double *total,
                              int64_t *above, int64_t *tied, double *restrict sar, Py_ssize_t n, Py_ssize_t dc,
                              Py_ssize_t kc)
{
    memset(total, 0, sizeof(double) * (size_t)(kc * dc));
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *ti = take + i * kc;
        char any = 0;
        for (Py_ssize_t k = 0; k < kc; k++)
            any |= ti[k];
        if (any) {
            const double *row = ar + i * g_cols + lo;
            double s = sigma[i];
            for (Py_ssize_t d = 0; d < dc; d++)
                sar[d] = row[d] / s;
        }
        for (Py_ssize_t k = 0; k < kc; k++) {
            int64_t n_above = 0, n_tied = 0;
            if (ti[k]) {
                double b = bar[i * kc + k], w = weight[i];
                double *restrict tk = total + k * dc;
                for (Py_ssize_t d = 0; d < dc; d++) {
                    int up = sar[d] > b, equal = sar[d] == b;
                    n_above += up;
                    n_tied += equal;
                    tk[d] += w * (up ? 1.0 : (equal ? 0.5 : 0.0));
                }
            }
            above[i * kc + k] = n_above;
            tied[i * kc + k] = n_tied;
        }
    }
}

/* ---- the sums over a block's firm-events by group and window ------------------------------ */

/* ``wg`` times each value of ``row`` (``dc`` of them; a value that is not finite counts as 0, and
 * ``counted``: each as 1 where finite, else 0) added into ``sum``. */
static inline void add_weighted(const double *restrict row, double wg, int counted, double *restrict sum,
                                Py_ssize_t dc)
{
    if (counted)
        for (Py_ssize_t d = 0; d < dc; d++)
            sum[d] += wg * (fabs(row[d]) <= DBL_MAX ? 1.0 : 0.0);
    else
        for (Py_ssize_t d = 0; d < dc; d++)
            sum[d] += wg * (fabs(row[d]) <= DBL_MAX ? row[d] : 0.0);
}

/* Σ over the rows ``take`` (all when NULL; else rows where ``take[i * stride]`` is 0) of each
 * group's weighted values (add_weighted), one row after another from 0.0, into ``sum`` (h x dc).
 * A row of weight 0 adds nothing: its terms are ±0, which leave a sum started at 0.0 as it is.
 * Inlined, so built for each instruction set group_window_sums is (a third faster). */
static inline __attribute__((always_inline)) void weighted_sums(
    const double *restrict values, const double *restrict weights, const char *take, Py_ssize_t stride, int counted,
    double *restrict sum, Py_ssize_t n, Py_ssize_t dc, Py_ssize_t h)
{
    memset(sum, 0, sizeof(double) * (size_t)(h * dc));
    for (Py_ssize_t i = 0; i < n; i++) {
        if (take && take[i * stride])
            continue;
        for (Py_ssize_t g = 0; g < h; g++)
            if (weights[i * h + g] != 0.0)
                add_weighted(values + i * dc, weights[i * h + g], counted, sum + g * dc, dc);
    }
}

/* Each group's sums of its rows' weighted ``values`` (n x dc; weights n x h) into ``total`` (h x
 * dc), and for each window j (``finite``: n x w, whether a row has the window's CAR) the total
 * less the same sums of the rows without it into ``out`` (w x h x dc; the total itself where every
 * row has it). ``less``: room for h x dc. */
WIDE static void group_window_sums(const double *values, const double *weights, const char *finite, int counted,
                                   double *total, double *out, double *less, Py_ssize_t n, Py_ssize_t dc,
                                   Py_ssize_t h, Py_ssize_t w)
{
    weighted_sums(values, weights, NULL, 0, counted, total, n, dc, h);
    for (Py_ssize_t j = 0; j < w; j++) {
        double *oj = out + j * h * dc;
        int any = 0;
        for (Py_ssize_t i = 0; i < n && !any; i++)
            any = !finite[i * w + j];
        if (!any) {
            memcpy(oj, total, sizeof(double) * (size_t)(h * dc));
            continue;
        }
        weighted_sums(values, weights, finite + j, w, counted, less, n, dc, h);
        for (Py_ssize_t k = 0; k < h * dc; k++)
            oj[k] = total[k] - less[k];
    }
}

/* ---- r-bar's standardized rows and their sums by position --------------------------------- */

static inline double value_at(const double *a, const double *b, Py_ssize_t i, int squares)
{
    return b ? a[i] * b[i] : squares ? a[i] * a[i] : a[i];
}

/* numpy's sum of at most 128 values: fewer than 8 one after another from 0.0, else 8 running sums
 * added as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)) and the rest one after another
 * (numpy starts the 8 sums at the first 8 values; from 0.0 they differ at most in the sign of a
 * zero sum, which the reduction's 0.0 + result takes away). Inlined into the pairwise sums' builds
 * for each instruction set, so that the eight sums are one vector's lanes (each lane's additions
 * in the same order): rbar_sums took 18 % less time than with it built for the oldest set only. */
static inline __attribute__((always_inline)) double block_sum(const double *a, const double *b, Py_ssize_t lo,
                                                               Py_ssize_t n, int squares)
{
    if (n < 8) {
        double res = 0.0;
        for (Py_ssize_t i = lo; i < lo + n; i++)
            res += value_at(a, b, i, squares);
        return res;
    }
    double r0 = 0.0, r1 = 0.0, r2 = 0.0, r3 = 0.0, r4 = 0.0, r5 = 0.0, r6 = 0.0, r7 = 0.0;
    Py_ssize_t i = 0;
    for (; i < n - n % 8; i += 8) {
        Py_ssize_t at = lo + i;
        r0 += value_at(a, b, at, squares);
        r1 += value_at(a, b, at + 1, squares);
        r2 += value_at(a, b, at + 2, squares);
        r3 += value_at(a, b, at + 3, squares);
        r4 += value_at(a, b, at + 4, squares);
        r5 += value_at(a, b, at + 5, squares);
        r6 += value_at(a, b, at + 6, squares);
        r7 += value_at(a, b, at + 7, squares);
    }
    double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++)
        res += value_at(a, b, lo + i, squares);
    return res;
}

/* numpy's pairwise summation of a contiguous row (``pairwise_sum`` in numpy's loops_utils.h): up
 * to 128 values as block_sum adds them, more split in two at a multiple of 8, each half summed so
 * and the two added. One function for each kind of value (the values; their squares; the products
 * a[i] b[i]), each with a loop built for it alone (with a test of the kind in it, lag_products'
 * products took twice the time). */
#define PAIRWISE(NAME, B, SQUARES, B_AFTER, NONNULL)                                                                  \
    WIDE NONNULL static double NAME(const double *a, const double *b, Py_ssize_t n)                                   \
    {                                                                                                                 \
        if (n <= 128)                                                                                                 \
            return block_sum(a, B, 0, n, SQUARES);                                                                    \
        Py_ssize_t half = n / 2;                                                                                      \
        half -= half % 8;                                                                                             \
        return NAME(a, B, half) + NAME(a + half, B_AFTER, n - half);                                                  \
    }
PAIRWISE(pairwise_values, NULL, 0, NULL, __attribute__((nonnull(1))))
PAIRWISE(pairwise_squares, NULL, 1, NULL, __attribute__((nonnull(1))))
PAIRWISE(pairwise_products, b, 0, b + half, __attribute__((nonnull(1, 2))))
#undef PAIRWISE

/* The sum of a[lo : lo + n] (of the squares when ``squares``) in numpy's order (pairwise_values,
 * pairwise_squares; lag_products takes pairwise_products itself). A reduction adds the result to
 * 0.0 (np.add.reduce's start), which its callers do. */
WIDE static double pairwise_sum(const double *a, Py_ssize_t lo, Py_ssize_t n, int squares)
{
    return squares ? pairwise_squares(a + lo, NULL, n) : pairwise_values(a + lo, NULL, n);
}

/* r-bar's sums of products at each distance d < lags of a table (s positions x l days; r-bar's
 * sums by position): out[d] = sum over p of the dot product of table[p, d:] and table[p + d, :l - d],
 * each in numpy's pairwise order of its products, the positions' added one after another from the
 * first (numpy's cumulative sum of the rows' sums); 0 where no position is that far from another.
 * A position at a time, with the rows it meets still in cache. */
WIDE static void lag_products(const double *table, Py_ssize_t s, Py_ssize_t l, Py_ssize_t lags, double *out)
{
    for (Py_ssize_t d = 0; d < lags; d++)
        out[d] = 0.0;
    for (Py_ssize_t p = 0; p < s; p++)
        for (Py_ssize_t d = 0; d < lags && p + d < s; d++) {
            Py_ssize_t n = l > d ? l - d : 0;
            double r = pairwise_products(table + p * l + (n ? d : 0), table + (p + d) * l, n);
            out[d] = p == 0 ? r : out[d] + r;
        }
}

/* r-bar's standardized row of the residuals ``row`` (``length`` of them, NaN where not valid):
 * into ``zr`` the row demeaned over its valid days and scaled to unit length (zero elsewhere),
 * into ``wr`` its valid days' indicators over the square root of their number; whether the row
 * counts (3 days or more, some variance). A row that does not count is zero. */
static inline int standardized_row(const double *row, Py_ssize_t length, double *zr, double *wr, char *finite)
{
    int64_t count = 0;
    for (Py_ssize_t d = 0; d < length; d++) {
        double v = row[d];
        finite[d] = (char)isfinite(v);
        zr[d] = finite[d] ? v : 0.0;
        count += finite[d];
    }
    double mean = (0.0 + pairwise_sum(zr, 0, length, 0)) / (double)(count > 1 ? count : 1);
    for (Py_ssize_t d = 0; d < length; d++) /* numpy's z x valid: where not valid a zero with the sign it gives */
        zr[d] = finite[d] ? zr[d] - mean : (zr[d] - mean) * 0.0;
    double norm = sqrt(0.0 + pairwise_sum(zr, 0, length, 1));
    int good = count >= 3 && norm > 0;
    double scale = good ? 1.0 / norm : 0.0;
    double weight = good ? 1.0 / sqrt((double)count) : 0.0;
    for (Py_ssize_t d = 0; d < length; d++) {
        zr[d] = zr[d] * scale;
        wr[d] = (finite[d] ? 1.0 : 0.0) * weight;
    }
    return good;
}

/* standardized_row of each row of ar[:, lo:hi] into ``z`` and ``w``, whether it counts into ``ok``. */
WIDE static void standardized_rows(const double *ar, Py_ssize_t g, Py_ssize_t lo, Py_ssize_t hi, double *z, double *w,
                              char *ok, char *finite, Py_ssize_t n)
{
    Py_ssize_t length = hi - lo;
    for (Py_ssize_t r = 0; r < n; r++)
        ok[r] = (char)standardized_row(ar + r * g + lo, length, z + r * length, w + r * length, finite);
}

/* r-bar's sums by calendar position, each row read once: into each group's ``sum_z`` and ``sum_w``
 * (groups x positions x length) and ``at`` (groups x positions), the standardized rows
 * (standardized_row of ar[:, lo:lo + length]) of the group's rows (``member``: rows x groups)
 * added up and counted, position by position: ``order`` holds the rows sorted by their position
 * ``pos``, each position's rows in ascending order, and each position's rows are summed from zero
 * one after another, then added to what the position holds (as scipy's sparse products do).
 * Each row's ``ok``; into ``day_any`` (groups x length) whether any of the group's rows has the
 * day ``valid`` (rows x g). ``zr``, ``wr``, ``finite``: a row's; ``tz``, ``tw`` (groups x length)
 * and ``count``: a position's. */
WIDE static void rbar_sums(const double *ar, const char *valid, Py_ssize_t g, Py_ssize_t lo, Py_ssize_t length,
                           const char *member, Py_ssize_t groups, const int64_t *order, Py_ssize_t n,
                           const int64_t *pos, Py_ssize_t positions, double *sum_z, double *sum_w, double *at,
                           char *day_any, char *ok, double *zr, double *wr, char *finite, double *tz, double *tw,
                           int64_t *count)
{
    Py_ssize_t i = 0;
    while (i < n) {
        int64_t p = pos[order[i]];
        Py_ssize_t j = i + 1;
        while (j < n && pos[order[j]] == p)
            j++;
        /* the rows i .. j - 1 are the position's: summed in tz and tw from zero, then added to its
         * sums; a position of one row is added to them at once (0 + z is z to the bit here: sums
         * that start at +0 and only add are never -0) */
        int alone = j == i + 1;
        double *zs = alone ? sum_z + p * length : tz, *ws = alone ? sum_w + p * length : tw;
        Py_ssize_t step = alone ? positions * length : length; /* from one group's row to the next */
        if (!alone) {
            memset(tz, 0, sizeof(double) * (size_t)(groups * length));
            memset(tw, 0, sizeof(double) * (size_t)(groups * length));
        }
        memset(count, 0, sizeof(int64_t) * (size_t)groups);
        for (Py_ssize_t k = i; k < j; k++) {
            int64_t r = order[k];
            ok[r] = (char)standardized_row(ar + r * g + lo, length, zr, wr, finite);
            const char *restrict days = valid + r * g + lo;
            for (Py_ssize_t h = 0; h < groups; h++) {
                if (!member[r * groups + h])
                    continue;
                double *restrict a = zs + h * step, *restrict b = ws + h * step;
                char *restrict any = day_any + h * length;
                for (Py_ssize_t d = 0; d < length; d++) { /* apart from the flags: with them, not vectorized */
                    a[d] += zr[d];
                    b[d] += wr[d];
                }
                for (Py_ssize_t d = 0; d < length; d++)
                    any[d] |= days[d];
                count[h]++;
            }
        }
        for (Py_ssize_t h = 0; h < groups; h++) {
            if (!count[h])
                continue;
            if (!alone) {
                double *sz = sum_z + (h * positions + p) * length, *sw = sum_w + (h * positions + p) * length;
                const double *a = tz + h * length, *b = tw + h * length;
                for (Py_ssize_t d = 0; d < length; d++) {
                    sz[d] = sz[d] + a[d];
                    sw[d] = sw[d] + b[d];
                }
            }
            at[h * positions + p] = at[h * positions + p] + (double)count[h];
        }
        i = j;
    }
}

/* The calendar-time test's sums: for each window j (the grid's columns spans[j][0] .. spans[j][1] - 1)
 * and group g, into out_s[j][g][s] and out_n[j][g][s] the finite ARs of the firm-events with
 * ``weights`` [e][j][g] on the calendar session s = pos[e] + grid[c] (inside 0 .. t - 1), and
 * their number: added firm-event after firm-event, day after day, from zero (numpy's bincount
 * of the ARs taken row after row). */
WIDE static void calendar_sums(const double *ar, const int64_t *pos, const int64_t *grid, const int64_t *spans,
                               const char *weights, double *out_s, double *out_n, Py_ssize_t n, Py_ssize_t g,
                               Py_ssize_t windows, Py_ssize_t groups, Py_ssize_t t)
{
    for (Py_ssize_t j = 0; j < windows; j++)
        for (Py_ssize_t h = 0; h < groups; h++) {
            double *sums = out_s + (j * groups + h) * t, *counts = out_n + (j * groups + h) * t;
            for (Py_ssize_t e = 0; e < n; e++) {
                if (!weights[(e * windows + j) * groups + h])
                    continue;
                const double *row = ar + e * g;
                for (int64_t c = spans[2 * j]; c < spans[2 * j + 1]; c++) {
                    int64_t at = pos[e] + grid[c];
                    if (isfinite(row[c]) && at >= 0 && at < t) {
                        sums[at] += row[c];
                        counts[at] += 1.0;
                    }
                }
            }
        }
}

/* Into the rows ``rows`` (distinct) of each group's ``table`` (groups x sessions x width) the rows of
 * ``values`` (groups x rows x width), each value added once, in place: numpy's
 * table[:, rows] += values, without its gathered copy and its sum's. */
WIDE static void add_rows(double *table, const int64_t *rows, const double *values, Py_ssize_t groups,
                          Py_ssize_t sessions, Py_ssize_t n, Py_ssize_t width)
{
    for (Py_ssize_t h = 0; h < groups; h++)
        for (Py_ssize_t r = 0; r < n; r++) {
            double *t = table + (h * sessions + rows[r]) * width;
            const double *v = values + (h * n + r) * width;
            for (Py_ssize_t d = 0; d < width; d++)
                t[d] = t[d] + v[d];
        }
}

/* ---- the module: each loop's arguments checked, then the loop run without the GIL ---------- */

/* The arguments of a wrapper (``a``: its Arg list; ``z``: the sizes by letter). */
#define ARGS(signature, names)                                                                   \
    Held held = {.n = 0};                                                                        \
    Arg a[MAX_ARGS];                                                                             \
    Py_ssize_t z[26];                                                                            \
    void *scratch = NULL;                                                                        \
    if (!unpack(args, signature, names, &held, a, z))                                            \
        return done(&held, scratch, 1);
#define SIZE(letter) z[(letter) - 'a']
#define FAIL(message) return refuse(message), done(&held, scratch, 1)
/* A wrapper's end: ``call``, the loop, run without the GIL, then its arrays released. */
#define WITHOUT_GIL(call)                                                                        \
    do {                                                                                         \
        Py_BEGIN_ALLOW_THREADS call;                                                             \
        Py_END_ALLOW_THREADS return done(&held, scratch, 0);                                     \
    } while (0)

static PyObject *py_row_keys(PyObject *self, PyObject *args)
{
    ARGS("d(n,g) Q(n,g)!", "ar keys")
    if (!(scratch = scratch_of(sizeof(float) * (size_t)(SIZE('g') + 1))))
        return done(&held, scratch, 1);
    WITHOUT_GIL(row_keys(a[0].data, a[1].data, scratch, SIZE('n'), SIZE('g')));
}

static PyObject *py_row_codes(PyObject *self, PyObject *args)
{
    ARGS("d(n,g) I(n,g)!", "ar keys")
    if (SIZE('g') > CODE_COLUMNS)
        FAIL("rows of more columns than a 32-bit key names");
    WITHOUT_GIL(row_codes(a[0].data, a[1].data, SIZE('n'), SIZE('g')));
}

/* place_ranks and place_codes: the ranks from sorted keys of 64 bits or (``narrow``) 32. */
static PyObject *ranks_from(PyObject *args, int narrow)
{
    ARGS(narrow ? "I(n,g) q(g) n d(n,g)! d(n,r)! ?(n)!" : "Q(n,g) ?(n,g) q(g) n d(n,g)! d(n,r)! ?(n)!",
         narrow ? "keys est_at missing u rank near" : "keys valid est_at missing u rank near")
    Arg *b = a + !narrow; /* the arguments after ``valid`` (which 32-bit keys need not: see ranks_of) */
    const int64_t *est_at = b[1].data;
    for (Py_ssize_t c = 0; c < SIZE('g'); c++)
        if (SIZE('r') && est_at[c] >= SIZE('r'))
            FAIL("est_at names a column past rank's");
    if (!(scratch = scratch_of(sizeof(double) * (size_t)(2 * SIZE('g')))))
        return done(&held, scratch, 1);
    double *by_col = (double *)scratch + SIZE('g');
    int placed;
    Py_BEGIN_ALLOW_THREADS
    placed = columns_inside(a[0].data, narrow, SIZE('n') * SIZE('g'), SIZE('g'));
    if (placed && narrow)
        place_codes(a[0].data, est_at, (uint32_t)b[2].value, b[3].data, b[4].data, SIZE('r'), b[5].data, scratch,
                    by_col, SIZE('n'), SIZE('g'));
    else if (placed)
        place_ranks(a[0].data, a[1].data, est_at, (uint32_t)b[2].value, b[3].data, b[4].data, SIZE('r'), b[5].data,
                    scratch, by_col, SIZE('n'), SIZE('g'));
    Py_END_ALLOW_THREADS
    if (!placed)
        FAIL("keys names a column past the row's");
    return done(&held, scratch, 0);
}

static PyObject *py_place_ranks(PyObject *self, PyObject *args)
{
    return ranks_from(args, 0);
}

static PyObject *py_place_codes(PyObject *self, PyObject *args)
{
    return ranks_from(args, 1);
}

/* The rows 0 .. n - 1 in the order of their ``keys`` (a stable counting sort over the sessions
 * 0 .. t; a key below zero counts as 0, one past t as t + 1), then grouped by their firm ``cols``
 * (stably: each firm's in that order; ``lo``: where each firm's start, f + 1 of them): the order
 * a firm's running sums reach them. */
static void order_by(const int64_t *keys, const int64_t *cols, Py_ssize_t n, Py_ssize_t t, Py_ssize_t f,
                     int64_t *order, int64_t *lo, int64_t *bucket, int64_t *sorted)
{
    memset(bucket, 0, sizeof(int64_t) * (size_t)(t + 3));
    for (Py_ssize_t e = 0; e < n; e++)
        bucket[(keys[e] < 0 ? 0 : (keys[e] > t ? t + 1 : keys[e])) + 1]++;
    for (Py_ssize_t b = 1; b < t + 3; b++)
        bucket[b] += bucket[b - 1];
    for (Py_ssize_t e = 0; e < n; e++)
        sorted[bucket[keys[e] < 0 ? 0 : (keys[e] > t ? t + 1 : keys[e])]++] = e;
    memset(lo, 0, sizeof(int64_t) * (size_t)(f + 1));
    for (Py_ssize_t e = 0; e < n; e++)
        lo[cols[e] + 1]++;
    for (Py_ssize_t c = 0; c < f; c++)
        lo[c + 1] += lo[c];
    memcpy(bucket, lo, sizeof(int64_t) * (size_t)f); /* each firm's next place */
    for (Py_ssize_t i = 0; i < n; i++)
        order[bucket[cols[sorted[i]]]++] = sorted[i];
}

static PyObject *py_estimation_sums(PyObject *self, PyObject *args)
{
    ARGS("?(f,t)! d(t,k) ?(t) d(f,t) d(f,t) ?(f,t) q(n) q(n) q(n) q(p,2) d(f)! d(n,m)!",
         "valid x0 x_ok y returns blocked starts stops cols pairs shift out")
    Py_ssize_t f = SIZE('f'), t = SIZE('t'), k1 = SIZE('k'), n = SIZE('n'), m = SIZE('m'), n_pairs = SIZE('p');
    const int64_t *cols = a[8].data, *pairs = a[9].data;
    if (m != 2 * (k1 + 1) + n_pairs + 2)
        FAIL("out must have a column for each moment: 2 (K + 1) + the pairs + 2");
    if (!inside(cols, n, f))
        FAIL("cols names a firm outside y");
    if (!inside(pairs, 2 * n_pairs, k1))
        FAIL("pairs names a regressor outside x0");
    Py_ssize_t buckets = (t + 3 > f ? t + 3 : f);
    size_t doubles = (size_t)(t + 1 + t * n_pairs + m), ints = (size_t)(3 * n + f + 1 + buckets);
    if (!(scratch = scratch_of(sizeof(double) * doubles + sizeof(int64_t) * ints)))
        return done(&held, scratch, 1);
    double *masked = scratch, *products = masked + t + 1, *spill = products + t * n_pairs;
    int64_t *by_start = (int64_t *)(spill + m), *by_stop = by_start + n, *sorted = by_stop + n,
            *lo = sorted + n, *bucket = lo + f + 1;
    Py_BEGIN_ALLOW_THREADS
    order_by(a[6].data, cols, n, t, f, by_start, lo, bucket, sorted);
    order_by(a[7].data, cols, n, t, f, by_stop, lo, bucket, sorted);
    estimation_sums(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, a[6].data, a[7].data, by_start,
                    by_stop, lo, pairs, a[10].data, a[11].data, masked, products, spill, t, f, k1, n_pairs);
    Py_END_ALLOW_THREADS
    return done(&held, scratch, 0);
}

static PyObject *py_grid_residuals(PyObject *self, PyObject *args)
{
    ARGS("d(f,t) ?(f,t) d(t,k) q(n) q(n) q(g) ?(g) d(f) d(k) d(n,j) p d(n,g)! ?(n,g)! q(n,2)!",
         "y valid x pos cols grid in_est shift x_mean theta estimated ar ok counts")
    int estimated = (int)a[10].value;
    if (estimated && SIZE('j') != SIZE('k') + 1)
        FAIL("theta must have a column for the constant and each regressor");
    if (!inside(a[4].data, SIZE('n'), SIZE('f')))
        FAIL("cols names a firm outside y");
    WITHOUT_GIL(grid_residuals(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, a[6].data,
                               a[7].data, a[8].data, a[9].data, estimated, a[11].data, a[12].data, a[13].data,
                               SIZE('n'), SIZE('g'), SIZE('t'), SIZE('k')));
}

static PyObject *py_compare_sars(PyObject *self, PyObject *args)
{
    ARGS("d(n,g) n d(n) ?(n,k) d(n,k) d(n) d(k,d)! q(n,k)! q(n,k)!", "ar lo sigma take bar weight total above tied")
    Py_ssize_t lo = a[1].value;
    if (lo < 0 || lo + SIZE('d') > SIZE('g'))
        FAIL("the estimation days lo:lo + days are not inside ar's columns");
    if (!(scratch = scratch_of(sizeof(double) * (size_t)SIZE('d'))))
        return done(&held, scratch, 1);
    WITHOUT_GIL(compare_sars(a[0].data, SIZE('g'), lo, a[2].data, a[3].data, a[4].data, a[5].data, a[6].data,
                             a[7].data, a[8].data, scratch, SIZE('n'), SIZE('d'), SIZE('k')));
}

static PyObject *py_group_window_sums(PyObject *self, PyObject *args)
{
    ARGS("d(n,d) d(n,h) ?(n,w) p d(h,d)! d(w,h,d)!", "values weights finite counted total out")
    if (!(scratch = scratch_of(sizeof(double) * (size_t)(SIZE('h') * SIZE('d')))))
        return done(&held, scratch, 1);
    WITHOUT_GIL(group_window_sums(a[0].data, a[1].data, a[2].data, (int)a[3].value, a[4].data, a[5].data, scratch,
                                  SIZE('n'), SIZE('d'), SIZE('h'), SIZE('w')));
}

static PyObject *py_standardized_rows(PyObject *self, PyObject *args)
{
    ARGS("d(n,g) n n d(n,l)! d(n,l)! ?(n)!", "ar lo hi z w ok")
    Py_ssize_t lo = a[1].value, hi = a[2].value;
    if (lo < 0 || hi < lo || hi > SIZE('g') || hi - lo != SIZE('l'))
        FAIL("the estimation days lo:hi are not inside ar's columns, or not z's and w's");
    if (!(scratch = scratch_of((size_t)(hi - lo + 1))))
        return done(&held, scratch, 1);
    WITHOUT_GIL(standardized_rows(a[0].data, SIZE('g'), lo, hi, a[3].data, a[4].data, a[5].data, scratch, SIZE('n')));
}

static PyObject *py_rbar_sums(PyObject *self, PyObject *args)
{
    ARGS("d(n,g) ?(n,g) n ?(n,h) q(n) q(n) d(h,s,l)! d(h,s,l)! d(h,s)! ?(h,l)! ?(n)!",
         "ar valid lo member order pos sum_z sum_w at day_any ok")
    Py_ssize_t lo = a[2].value, length = SIZE('l'), groups = SIZE('h');
    if (lo < 0 || lo + length > SIZE('g'))
        FAIL("the estimation days lo:lo + length are not inside ar's columns");
    if (!inside(a[4].data, SIZE('n'), SIZE('n')) || !inside(a[5].data, SIZE('n'), SIZE('s')))
        FAIL("order names a row outside ar, or pos a position outside sum_z");
    size_t doubles = (size_t)(2 * length + 2 * groups * length), bytes = sizeof(double) * doubles;
    if (!(scratch = scratch_of(bytes + sizeof(int64_t) * (size_t)groups + (size_t)length)))
        return done(&held, scratch, 1);
    double *zr = scratch, *wr = zr + length, *tz = wr + length, *tw = tz + groups * length;
    int64_t *count = (int64_t *)(zr + doubles);
    char *finite = (char *)(count + groups);
    WITHOUT_GIL(rbar_sums(a[0].data, a[1].data, SIZE('g'), lo, length, a[3].data, groups, a[4].data, SIZE('n'),
                          a[5].data, SIZE('s'), a[6].data, a[7].data, a[8].data, a[9].data, a[10].data, zr, wr, finite,
                          tz, tw, count));
}

static PyObject *py_calendar_sums(PyObject *self, PyObject *args)
{
    ARGS("d(n,g) q(n) q(g) q(w,2) ?(n,w,h) d(w,h,t)! d(w,h,t)!", "ar pos grid spans weights out_s out_n")
    const int64_t *spans = a[3].data;
    for (Py_ssize_t j = 0; j < SIZE('w'); j++)
        if (spans[2 * j] < 0 || spans[2 * j + 1] < spans[2 * j] || spans[2 * j + 1] > SIZE('g'))
            FAIL("spans names columns outside ar's");
    WITHOUT_GIL(calendar_sums(a[0].data, a[1].data, a[2].data, spans, a[4].data, a[5].data, a[6].data, SIZE('n'),
                              SIZE('g'), SIZE('w'), SIZE('h'), SIZE('t')));
}

static PyObject *py_add_rows(PyObject *self, PyObject *args)
{
    ARGS("d(h,s,w)! q(n) d(h,n,w)", "table rows values")
    if (!inside(a[1].data, SIZE('n'), SIZE('s')))
        FAIL("rows names a row outside table");
    WITHOUT_GIL(add_rows(a[0].data, a[1].data, a[2].data, SIZE('h'), SIZE('s'), SIZE('n'), SIZE('w')));
}

static PyObject *py_lag_products(PyObject *self, PyObject *args)
{
    ARGS("d(s,l) d(k)!", "table out")
    WITHOUT_GIL(lag_products(a[0].data, SIZE('s'), SIZE('l'), SIZE('k'), a[1].data));
}

static PyObject *py_pairwise_sum(PyObject *self, PyObject *args)
{
    ARGS("d(l) n n p", "a lo n squares")
    Py_ssize_t lo = a[1].value, n = a[2].value;
    if (lo < 0 || n < 0 || lo + n > SIZE('l'))
        FAIL("a[lo : lo + n] is not inside a");
    double sum = pairwise_sum(a[0].data, lo, n, (int)a[3].value);
    release(&held);
    return PyFloat_FromDouble(sum);
}

static PyMethodDef METHODS[] = {
    {"row_keys", py_row_keys, METH_VARARGS, "row_keys(ar, keys): each value's sort key, unsorted."},
    {"row_codes", py_row_codes, METH_VARARGS, "row_codes(ar, keys): each value's 32-bit sort key, unsorted."},
    {"place_ranks", py_place_ranks, METH_VARARGS,
     "place_ranks(keys, valid, est_at, missing, u, rank, near): the ranks from each row's sorted keys."},
    {"place_codes", py_place_codes, METH_VARARGS,
     "place_codes(keys, est_at, missing, u, rank, near): place_ranks from 32-bit keys (row_codes)."},
    {"estimation_sums", py_estimation_sums, METH_VARARGS,
     "estimation_sums(valid, x0, x_ok, y, returns, blocked, starts, stops, cols, pairs, shift, out): each firm's "
     "valid days, its shift and its estimation windows' sums (firms x sessions)."},
    {"grid_residuals", py_grid_residuals, METH_VARARGS,
     "grid_residuals(y, valid, x, pos, cols, grid, in_est, shift, x_mean, theta, estimated, ar, ok, counts): the ARs."},
    {"compare_sars", py_compare_sars, METH_VARARGS,
     "compare_sars(ar, lo, sigma, take, bar, weight, total, above, tied): GRANK's comparisons and their sums."},
    {"group_window_sums", py_group_window_sums, METH_VARARGS,
     "group_window_sums(values, weights, finite, counted, total, out): each group's weighted sums, and each window's."},
    {"standardized_rows", py_standardized_rows, METH_VARARGS,
     "standardized_rows(ar, lo, hi, z, w, ok): r-bar's standardized rows."},
    {"rbar_sums", py_rbar_sums, METH_VARARGS,
     "rbar_sums(ar, valid, lo, member, order, pos, sum_z, sum_w, at, day_any, ok): r-bar's rows summed by calendar "
     "position, each group's."},
    {"calendar_sums", py_calendar_sums, METH_VARARGS,
     "calendar_sums(ar, pos, grid, spans, weights, out_s, out_n): the calendar-time test's sums by session."},
    {"add_rows", py_add_rows, METH_VARARGS,
     "add_rows(table, rows, values): values added into the rows of each group's table, in place."},
    {"pairwise_sum", py_pairwise_sum, METH_VARARGS,
     "pairwise_sum(a, lo, n, squares): the sum of a[lo : lo + n] (of the squares) in numpy's order."},
    {"lag_products", py_lag_products, METH_VARARGS,
     "lag_products(table, out): r-bar's sums of products of the table's rows at each distance."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_loops",
    .m_doc = "The streamed passes' heaviest loops in C (eventstudy.core.stream.kernel).",
    .m_size = -1,
    .m_methods = METHODS,
};

PyMODINIT_FUNC PyInit__loops(void)
{
    return PyModule_Create(&MODULE);
}
