/*
 * Copyright (c) mmbas contributors. All rights reserved.
 *
 * The official WSOL box protocol (MaxBoxAcc / MaxBoxAccV2 of
 * clovaai/wsolevaluation) for all thresholds of one map at once, with
 * union-find sweeps over the uint8 levels instead of one cv2.findContours
 * per threshold.  official_protocol.py documents the derivation and how it
 * was checked against OpenCV.  For the foreground F = {u8 > cut}:
 *
 *  - findContours(RETR_TREE) returns the outer border of every 8-connected
 *    component of F and the border of every hole (4-connected component of
 *    the background that does not touch the image border, which OpenCV
 *    pads with background).  Their boxes are the component's box and the
 *    hole's box grown by one pixel on each side.
 *  - cv2.contourArea of an outer border is W(C) + sum of the areas of the
 *    holes of C (and so on down the nesting), that of a hole border is
 *    V(H) + sum of the areas of the components inside it, where, counted on
 *    the 2x2 windows of pixels (half units): W = #windows with 3 pixels of
 *    C + 2 * #windows with 4, V = #windows with 1 pixel of H + 2 * #windows
 *    with 2..4.  The largest contour is therefore the outer border of a
 *    top-level component; findContours lists those by decreasing first
 *    pixel (raster order), so ties go to the one whose first pixel is last.
 *
 * Sweeps (pixels sorted by level, each a union-find with per-root box):
 *  1. background, levels upwards: the holes of every cut (box, V, the
 *     pixel left of the first pixel) and tau, the level at which a pixel
 *     joins the background that touches the border (u8 with every hole
 *     filled);
 *  2. foreground on u8, levels downwards: the component boxes of every cut
 *     (MaxBoxAccV2) and, where no component is nested in a hole, the
 *     largest contour: each hole's area is added to the component holding
 *     the pixel left of it;
 *  3. only for cuts with a nested component: foreground on tau, down to
 *     the lowest such cut; its components are the filled top-level
 *     components, their W is the outer border's area.
 *
 * Floating point: IoUs use the same operations, in the same order, as
 * box_utils.pairwise_iou_inclusive, and quantisation those of
 * normalize_scoremap_official + astype(uint8); build with
 * -ffp-contract=off so that no fused multiply-add changes a rounding.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NLEVELS 256
#define BORDER 0       /* union-find root of the background outside */
#define MAX_SIDE 32766 /* x and y are packed into 16 bits each */

/* Neighbours of a pixel, bit k of a neighbour mask:
 *   0 NW  1 N  2 NE
 *   3 W        4 E
 *   5 SW  6 S  7 SE
 * Bits 0-3 come before the pixel in raster order, bits 4-7 after it. */
static const int NB_DX[8] = {-1, 0, 1, -1, 1, -1, 0, 1};
static const int NB_DY[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
/* the 2x2 windows holding the pixel, by their other three pixels */
static const int WINDOWS[4][3] = {{0, 1, 3}, {1, 2, 4}, {3, 5, 6},
                                  {4, 6, 7}};

/* By neighbour mask (the neighbours already in the set): one neighbour per
 * group of them that is already one component (-1 terminated), for the
 * 8-connected foreground and the 4-connected background, and the increase
 * of W (fg) or V (bg) when the pixel joins. */
static int8_t FG_REPS[256][5];
static int8_t BG_REPS[256][5];
static uint8_t FG_AREA[256];
static uint8_t BG_AREA[256];

/* per root of a union-find tree, indexed by the root's padded pixel */
typedef struct {
    int32_t x0, y0, x1, y1; /* box, image coordinates */
    int32_t rank;
    int32_t area2; /* fg: W, bg: V (half units) */
    int32_t first; /* bg: first pixel in raster order (padded index); fg:
                    * a pixel of the top row */
    int32_t extra; /* fg: holes' area at the current cut; bg: list head */
    int32_t tail;  /* bg: list tail */
} Node;

/* what the per-pixel steps use, copied out of Sweep so that the compiler
 * keeps it in registers (stores through par / node cannot change it) */
typedef struct {
    int32_t *restrict par;
    Node *restrict node;
    int32_t wp;
    int32_t off[8];
} Hot;

/* the holes of one cut, for the foreground sweep */
typedef struct {
    int32_t left;  /* padded index of the pixel left of the first pixel */
    int32_t area2; /* V */
} Hole;

typedef struct {
    int32_t height, width, wp;
    int32_t off[8]; /* padded index offsets of the 8 neighbours */
    const double *gts;
    int32_t ngt;
    int32_t *par;  /* union-find parent per padded pixel */
    Node *node;    /* per padded pixel, valid for roots */
    int32_t *next; /* bg: next pixel of the same component, -1: last */
    int32_t *live; /* roots created and not merged yet (pruned lazily) */
    int32_t nlive;
    Hole *holes;     /* holes of all cuts, cut by cut */
    int32_t *hstart; /* holes of cut k: hstart[k] .. hstart[k + 1] */
    int32_t nholes, cap_holes;
} Sweep;

/* ---------------------------------------------------------------------
 * tables
 * --------------------------------------------------------------------- */
static int8_t group_find(int8_t *g, int8_t i)
{
    while (g[i] != i)
        i = g[i];
    return i;
}

/* Representatives of the groups of set neighbours in mask; two set
 * neighbours are in one group when adjacent (chebyshev: 8-adjacent, else
 * 4-adjacent); with only_orth only N / W / E / S represent a group. */
static void build_reps(int mask, int chebyshev, int only_orth, int8_t *out)
{
    int8_t g[8];
    int n = 0;
    for (int8_t i = 0; i < 8; i++)
        g[i] = i;
    for (int i = 0; i < 8; i++) {
        for (int j = i + 1; j < 8; j++) {
            if (!((mask >> i) & 1) || !((mask >> j) & 1))
                continue;
            const int dx = abs(NB_DX[i] - NB_DX[j]);
            const int dy = abs(NB_DY[i] - NB_DY[j]);
            if (chebyshev ? (dx <= 1 && dy <= 1) : (dx + dy == 1)) {
                const int8_t a = group_find(g, (int8_t)i);
                const int8_t b = group_find(g, (int8_t)j);
                if (a != b)
                    g[a > b ? a : b] = a < b ? a : b;
            }
        }
    }
    for (int8_t i = 0; i < 8; i++) {
        if (!((mask >> i) & 1) ||
            (only_orth && NB_DX[i] != 0 && NB_DY[i] != 0))
            continue;
        const int8_t root = group_find(g, i);
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= group_find(g, out[k]) == root;
        if (!seen)
            out[n++] = i;
    }
    out[n] = -1;
}

static void build_tables(void)
{
    for (int m = 0; m < 256; m++) {
        build_reps(m, 1, 0, FG_REPS[m]);
        build_reps(m, 0, 1, BG_REPS[m]);
        int fg = 0, bg = 0;
        for (int w = 0; w < 4; w++) {
            const int k = ((m >> WINDOWS[w][0]) & 1) +
                          ((m >> WINDOWS[w][1]) & 1) +
                          ((m >> WINDOWS[w][2]) & 1);
            fg += k >= 2; /* the window reaches 3 or 4 pixels: +1 */
            bg += k <= 1; /* the window reaches 1 or 2 pixels: +1 */
        }
        FG_AREA[m] = (uint8_t)fg;
        BG_AREA[m] = (uint8_t)bg;
    }
}

/* ---------------------------------------------------------------------
 * union-find helpers
 * --------------------------------------------------------------------- */

/* best IoU over the GT boxes, as pairwise_iou_inclusive(...).max() */
static double best_iou(const double *gts, int32_t ngt, double x0, double y0,
                       double x1, double y1)
{
    double best = 0.0;
    const double area_a = (x1 - x0 + 1) * (y1 - y0 + 1);
    for (int32_t g = 0; g < ngt; g++) {
        const double *b = gts + 4 * g;
        const double ix0 = x0 > b[0] ? x0 : b[0];
        const double iy0 = y0 > b[1] ? y0 : b[1];
        const double ix1 = x1 < b[2] ? x1 : b[2];
        const double iy1 = y1 < b[3] ? y1 : b[3];
        double iw = ix1 - ix0 + 1, ih = iy1 - iy0 + 1;
        iw = iw > 0.0 ? iw : 0.0;
        ih = ih > 0.0 ? ih : 0.0;
        const double inter = iw * ih;
        const double area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
        const double uni = area_a + area_b - inter;
        const double iou = uni <= 0 ? 0.0 : inter / uni;
        if (g == 0 || iou > best)
            best = iou;
    }
    return best;
}

/* IoU of a component's box: boundingRect (x, y, w, h) -> [x, y,
 * min(x + w, W - 1), min(y + h, H - 1)] with x + w = last column + 1;
 * grow = 1 for a hole (its border runs on the pixels around it) */
static double node_iou(const Sweep *s, const Node *n, int32_t grow)
{
    const int32_t wm = s->width - 1, hm = s->height - 1;
    const int32_t x1 = n->x1 + 1 + grow < wm ? n->x1 + 1 + grow : wm;
    const int32_t y1 = n->y1 + 1 + grow < hm ? n->y1 + 1 + grow : hm;
    return best_iou(s->gts, s->ngt, n->x0 - grow, n->y0 - grow, x1, y1);
}

static Hot hot_context(const Sweep *s)
{
    Hot h = {s->par, s->node, s->wp, {0}};
    memcpy(h.off, s->off, sizeof(h.off));
    return h;
}

static inline int32_t find_root(int32_t *restrict par, int32_t p)
{
    const int32_t r = par[p];
    if (par[r] == r) /* the common case: p or its parent is the root */
        return r;
    while (par[p] != p) {
        par[p] = par[par[p]];
        p = par[p];
    }
    return p;
}

static inline Node *new_root(Sweep *s, int32_t p, int32_t x, int32_t y,
                             int area2)
{
    Node *n = s->node + p;
    s->par[p] = p;
    n->x0 = n->x1 = x;
    n->y0 = n->y1 = y;
    n->rank = 0;
    n->area2 = area2;
    n->first = p;
    s->live[s->nlive++] = p;
    return n;
}

/* fg: grow the box (branches: most pixels fall inside it), keep a pixel of
 * the top row in first */
static inline void fg_add_pixel(Node *n, int32_t p, int32_t x, int32_t y,
                                int area2)
{
    if (x < n->x0)
        n->x0 = x;
    if (x > n->x1)
        n->x1 = x;
    if (y < n->y0) {
        n->y0 = y;
        n->first = p;
    }
    if (y > n->y1)
        n->y1 = y;
    n->area2 += area2;
}

/* bg: grow the box, keep the first pixel in raster order */
static inline void bg_add_pixel(Node *n, int32_t p, int32_t x, int32_t y,
                                int area2)
{
    if (x < n->x0)
        n->x0 = x;
    if (x > n->x1)
        n->x1 = x;
    if (y > n->y1)
        n->y1 = y;
    n->area2 += area2;
    if (p < n->first) { /* the only way to a new top row */
        n->first = p;
        n->y0 = y < n->y0 ? y : n->y0;
    }
}

/* Union by rank of roots a and b; returns the new root, into which the box,
 * area and first pixel of the other one (*absorbed) are merged: the lower
 * first pixel, which is the first pixel for bg, a pixel of the (new) top
 * row for fg. */
static inline int32_t link_roots(Sweep *s, int32_t a, int32_t b,
                                 int32_t *absorbed)
{
    if (s->node[a].rank < s->node[b].rank) {
        const int32_t t = a;
        a = b;
        b = t;
    } else if (s->node[a].rank == s->node[b].rank) {
        s->node[a].rank += 1;
    }
    Node *na = s->node + a;
    const Node *nb = s->node + b;
    s->par[b] = a;
    na->x0 = nb->x0 < na->x0 ? nb->x0 : na->x0;
    na->x1 = nb->x1 > na->x1 ? nb->x1 : na->x1;
    na->y0 = nb->y0 < na->y0 ? nb->y0 : na->y0;
    na->y1 = nb->y1 > na->y1 ? nb->y1 : na->y1;
    na->area2 += nb->area2;
    if (nb->first < na->first)
        na->first = nb->first;
    *absorbed = b;
    return a;
}

/* prune merged roots (and, for bg, roots that joined BORDER) */
static void prune_live(Sweep *s)
{
    int32_t m = 0;
    for (int32_t i = 0; i < s->nlive; i++) {
        const int32_t r = s->live[i];
        if (s->par[r] == r)
            s->live[m++] = r;
    }
    s->nlive = m;
}

/* ---------------------------------------------------------------------
 * neighbour masks and level order
 * --------------------------------------------------------------------- */

/* Neighbours already added when a pixel is added (bit k: neighbour k).
 * The pixels are sorted by level, raster order within a level.  The fg
 * sweeps walk that order backwards (levels downwards, reverse raster order
 * within a level): a neighbour is in when its level is above, or equal and
 * it comes later in raster order (bits 4-7); the padding (-1) never is.
 * The bg sweep walks the order forwards: a neighbour is in when its level
 * is below, or equal and it comes first (bits 0-3), the padding always;
 * that is exactly the complement, ~mask. */
static void fg_masks(const int16_t *lev, int32_t height, int32_t width,
                     uint8_t *fgm)
{
    const int32_t wp = width + 2;
    for (int32_t y = 0; y < height; y++) {
        const int16_t *c = lev + (y + 1) * wp + 1;
        const int16_t *u = c - wp, *d = c + wp;
        uint8_t *f = fgm + (y + 1) * wp + 1;
        for (int32_t x = 0; x < width; x++) {
            const int16_t v = c[x];
            f[x] = (uint8_t)((u[x - 1] > v) | (u[x] > v) << 1 |
                             (u[x + 1] > v) << 2 | (c[x - 1] > v) << 3 |
                             (c[x + 1] >= v) << 4 | (d[x - 1] >= v) << 5 |
                             (d[x] >= v) << 6 | (d[x + 1] >= v) << 7);
        }
    }
}

/* count[l] = number of values l in v[0 .. n) */
static void count_levels(const uint8_t *v, size_t n, int32_t *count)
{
    int32_t hist[4][NLEVELS];
    size_t i = 0;
    memset(hist, 0, sizeof(hist));
    /* four histograms: neighbours often share a level */
    for (; i + 4 <= n; i += 4) {
        hist[0][v[i]]++;
        hist[1][v[i + 1]]++;
        hist[2][v[i + 2]]++;
        hist[3][v[i + 3]]++;
    }
    for (; i < n; i++)
        hist[0][v[i]]++;
    for (int l = 0; l < NLEVELS; l++)
        count[l] = hist[0][l] + hist[1][l] + hist[2][l] + hist[3][l];
}

/* Pixels in increasing level order, raster order within a level: order[i]
 * = y << 16 | x and ofg[i] its fg mask; start[l] is the first position of
 * level l.  count: the number of pixels of each level, or NULL. */
static void sort_levels(const int16_t *lev, const uint8_t *fgm,
                        int32_t height, int32_t width, const int32_t *count,
                        uint32_t *order, uint8_t *ofg, int32_t *start)
{
    const int32_t wp = width + 2;
    int32_t pos[NLEVELS], own[NLEVELS];
    if (count == NULL) {
        memset(own, 0, sizeof(own));
        for (int32_t y = 0; y < height; y++) {
            const int16_t *row = lev + (y + 1) * wp + 1;
            for (int32_t x = 0; x < width; x++)
                own[row[x]]++;
        }
        count = own;
    }
    start[0] = 0;
    for (int l = 0; l < NLEVELS; l++) {
        start[l + 1] = start[l] + count[l];
        pos[l] = start[l];
    }
    for (int32_t y = 0; y < height; y++) {
        const int32_t base = (y + 1) * wp + 1;
        for (int32_t x = 0; x < width; x++) {
            const int32_t i = pos[lev[base + x]]++;
            order[i] = ((uint32_t)y << 16) | (uint32_t)x;
            ofg[i] = fgm[base + x];
        }
    }
}

/* ---------------------------------------------------------------------
 * background sweep: 4-connected components, levels upwards; the padding
 * is the component BORDER.  Each component keeps the list (extra = head,
 * tail, next) of its pixels, walked once when it joins BORDER to set tau.
 * --------------------------------------------------------------------- */
static void bg_join_border(Sweep *s, int32_t r, int16_t level, int16_t *tau)
{
    for (int32_t q = s->node[r].extra; q >= 0; q = s->next[q])
        tau[q] = level;
    s->par[r] = BORDER;
}

static int32_t bg_unite(Sweep *s, int32_t a, int32_t b, int16_t level,
                        int16_t *tau)
{
    if (a == BORDER || b == BORDER) {
        bg_join_border(s, a == BORDER ? b : a, level, tau);
        return BORDER;
    }
    int32_t absorbed;
    const int32_t r = link_roots(s, a, b, &absorbed);
    s->next[s->node[r].tail] = s->node[absorbed].extra;
    s->node[r].tail = s->node[absorbed].tail;
    return r;
}

static inline void bg_add(Sweep *s, const Hot *h, uint32_t yx, int mask,
                          int16_t level, int16_t *tau)
{
    const int32_t x = (int32_t)(yx & 0xffff), y = (int32_t)(yx >> 16);
    const int32_t p = (y + 1) * h->wp + x + 1;
    const int8_t *rep = BG_REPS[mask];
    if (rep[0] < 0) {
        Node *n = new_root(s, p, x, y, BG_AREA[mask]);
        n->extra = n->tail = p;
        s->next[p] = -1;
        return;
    }
    int32_t r = find_root(h->par, p + h->off[rep[0]]);
    for (rep++; *rep >= 0; rep++) {
        const int32_t rq = find_root(h->par, p + h->off[*rep]);
        if (rq != r)
            r = bg_unite(s, r, rq, level, tau);
    }
    h->par[p] = r;
    if (r == BORDER) {
        tau[p] = level;
        return;
    }
    Node *n = h->node + r;
    bg_add_pixel(n, p, x, y, BG_AREA[mask]);
    s->next[n->tail] = p;
    s->next[p] = -1;
    n->tail = p;
}

/* Records the live holes of cut k; returns the best IoU of their boxes
 * (-1: no hole), or -2 when out of memory. */
static double bg_record_holes(Sweep *s, int32_t k)
{
    double best = -1.0;
    prune_live(s); /* merged, or joined BORDER */
    if (s->nholes + s->nlive > s->cap_holes) {
        const int32_t cap = 2 * (s->nholes + s->nlive) + 64;
        Hole *h = (Hole *)realloc(s->holes, sizeof(Hole) * (size_t)cap);
        if (h == NULL)
            return -2.0;
        s->holes = h;
        s->cap_holes = cap;
    }
    s->hstart[k] = s->nholes;
    for (int32_t i = 0; i < s->nlive; i++) {
        const Node *n = s->node + s->live[i];
        Hole *h = s->holes + s->nholes++;
        h->left = n->first - 1;
        h->area2 = n->area2;
        const double iou = node_iou(s, n, 1);
        best = iou > best ? iou : best;
    }
    s->hstart[k + 1] = s->nholes;
    return best;
}

/* Holes of every cut (best IoU into v2, -1 where there is none), cuts
 * upwards, and tau, the map with the holes of every level filled (-1
 * outside, 255 for pixels still in a hole at the last cut).  Returns -1
 * when out of memory. */
static int sweep_holes(Sweep *s, const uint32_t *order, const uint8_t *omask,
                       const int32_t *start, const int32_t *cuts,
                       int32_t ncut, double *v2, int16_t *tau)
/* omask: the fg masks, complemented here */
{
    const int32_t wp = s->wp, hp = s->height + 2;
    /* par is read only for pixels already added, and the padding */
    for (int32_t y = 0; y < hp; y++) {
        int32_t *par = s->par + y * wp;
        int16_t *row = tau + y * wp;
        if (y == 0 || y == hp - 1) {
            for (int32_t x = 0; x < wp; x++) {
                par[x] = BORDER;
                row[x] = -1;
            }
        } else {
            par[0] = par[wp - 1] = BORDER;
            row[0] = row[wp - 1] = -1;
            for (int32_t x = 1; x < wp - 1; x++)
                row[x] = NLEVELS - 1;
        }
    }
    s->nlive = 0;
    const Hot h = hot_context(s);
    int32_t level = 0, i = 0;
    for (int32_t k = 0; k < ncut; k++) {
        for (; level <= cuts[k]; level++)
            for (const int32_t stop = start[level + 1]; i < stop; i++)
                bg_add(s, &h, order[i], (uint8_t)~omask[i], (int16_t)level,
                       tau);
        v2[k] = bg_record_holes(s, k);
        if (v2[k] < -1.5)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * foreground sweeps: 8-connected components, levels downwards
 * --------------------------------------------------------------------- */
static inline void fg_add(Sweep *s, const Hot *h, uint32_t yx, int mask)
{
    const int32_t x = (int32_t)(yx & 0xffff), y = (int32_t)(yx >> 16);
    const int32_t p = (y + 1) * h->wp + x + 1;
    const int8_t *rep = FG_REPS[mask];
    if (rep[0] < 0) {
        new_root(s, p, x, y, 0)->extra = 0;
        return;
    }
    int32_t r = find_root(h->par, p + h->off[rep[0]]);
    for (rep++; *rep >= 0; rep++) {
        const int32_t rq = find_root(h->par, p + h->off[*rep]);
        if (rq != r) {
            int32_t absorbed;
            r = link_roots(s, r, rq, &absorbed);
        }
    }
    h->par[p] = r;
    fg_add_pixel(h->node + r, p, x, y, FG_AREA[mask]);
}

/* first pixel (raster order) of the fg component of root r: the leftmost
 * pixel of its top row that is in (lev > cut) and in the component */
static int32_t fg_first_pixel(const Sweep *s, int32_t r, const int16_t *lev,
                              int32_t cut)
{
    const Node *n = s->node + r;
    const int32_t row = (n->y0 + 1) * s->wp + 1;
    for (int32_t x = n->x0; x < n->x1; x++)
        if (lev[row + x] > cut && find_root(s->par, row + x) == r)
            return row + x;
    return row + n->x1;
}

/* The live root with the largest area2 + extra; on ties findContours lists
 * the component whose first pixel comes last first.  NULL: none. */
static const Node *largest(const Sweep *s, const int16_t *lev, int32_t cut)
{
    int32_t arg = -1, best = -1, ties = 0;
    for (int32_t i = 0; i < s->nlive; i++) {
        const Node *n = s->node + s->live[i];
        const int32_t a = n->area2 + n->extra;
        if (a > best) {
            arg = s->live[i];
            best = a;
            ties = 0;
        } else if (a == best) {
            ties = 1;
        }
    }
    if (arg < 0)
        return NULL;
    if (ties) {
        int32_t last = -1;
        for (int32_t i = 0; i < s->nlive; i++) {
            const int32_t r = s->live[i];
            const Node *n = s->node + r;
            if (n->area2 + n->extra != best)
                continue;
            const int32_t first = fg_first_pixel(s, r, lev, cut);
            if (first > last) {
                last = first;
                arg = r;
            }
        }
    }
    return s->node + arg;
}

/* Cut k of the u8 sweep: the best IoU of all component boxes into v2 (max
 * with the holes'), and of the largest contour into v1 unless a component
 * is nested in a hole (returns 1: left to the tau sweep). */
static int fg_emit(Sweep *s, int32_t k, int32_t cut, const int16_t *lev,
                   const int16_t *tau, double *v1, double *v2,
                   double empty_iou)
{
    double best = v2[k];
    int nested = 0;
    prune_live(s);
    for (int32_t i = 0; i < s->nlive; i++) {
        const Node *n = s->node + s->live[i];
        const double iou = node_iou(s, n, 0);
        best = iou > best ? iou : best;
        /* a component is top-level iff the pixel above its top row
         * (background or padding) is outside every hole */
        const int32_t above = n->first - s->wp;
        nested |= lev[above] >= 0 && tau[above] > cut;
    }
    v2[k] = best < 0 ? empty_iou : best;
    if (nested)
        return 1;
    /* no nesting: every hole belongs to the component left of it */
    for (int32_t h = s->hstart[k]; h < s->hstart[k + 1]; h++)
        s->node[find_root(s->par, s->holes[h].left)].extra +=
            s->holes[h].area2;
    const Node *arg = largest(s, lev, cut);
    v1[k] = arg == NULL ? empty_iou : node_iou(s, arg, 0);
    for (int32_t i = 0; i < s->nlive; i++)
        s->node[s->live[i]].extra = 0;
    return 0;
}

/* Components of u8 > cut, cuts downwards (see fg_emit); nested[k] is set
 * for the cuts left to the tau sweep.  Returns the number of those. */
static int32_t sweep_components(Sweep *s, const uint32_t *order,
                                const uint8_t *omask, const int32_t *start,
                                const int32_t *cuts, int32_t ncut,
                                const int16_t *lev, const int16_t *tau,
                                double *v1, double *v2, uint8_t *nested,
                                double empty_iou)
{
    int32_t count = 0;
    s->nlive = 0;
    const Hot h = hot_context(s);
    int32_t i = start[NLEVELS];
    for (int32_t k = ncut - 1; k >= 0; k--) {
        for (const int32_t stop = start[cuts[k] + 1]; i > stop; i--)
            fg_add(s, &h, order[i - 1], omask[i - 1]);
        nested[k] = (uint8_t)fg_emit(s, k, cuts[k], lev, tau, v1, v2,
                                     empty_iou);
        count += nested[k];
    }
    return count;
}

/* Components of tau > cut (the filled top-level components), cuts
 * downwards to the lowest nested one: v1 of the nested cuts. */
static void sweep_filled(Sweep *s, const uint32_t *order,
                         const uint8_t *omask, const int32_t *start,
                         const int32_t *cuts, int32_t ncut,
                         const int16_t *tau, const uint8_t *nested,
                         double *v1, double empty_iou)
{
    s->nlive = 0;
    const Hot h = hot_context(s);
    int32_t i = start[NLEVELS];
    for (int32_t k = ncut - 1; k >= 0; k--) {
        if (!nested[k])
            continue;
        for (const int32_t stop = start[cuts[k] + 1]; i > stop; i--)
            fg_add(s, &h, order[i - 1], omask[i - 1]);
        prune_live(s);
        const Node *arg = largest(s, tau, cuts[k]);
        v1[k] = arg == NULL ? empty_iou : node_iou(s, arg, 0);
    }
}

/* ---------------------------------------------------------------------
 * driver
 * --------------------------------------------------------------------- */

/* The sweeps for the cuts (strictly increasing, in [-1, 254]); -1 when out
 * of memory. */
static int run_sweeps(const uint8_t *u8, const int32_t *count,
                      int32_t height, int32_t width, const int32_t *cuts,
                      int32_t ncut, const double *gts, int32_t ngt,
                      double *v1, double *v2)
{
    const int32_t wp = width + 2;
    const size_t np = (size_t)(height + 2) * (size_t)wp;
    int32_t start[NLEVELS + 1], hstart[NLEVELS + 1];
    uint8_t nested[NLEVELS];
    int rc = 0;
    /* Node; int32: par, next, live, order; int16: lev, tau; uint8: mask
     * image, gathered masks */
    const size_t bytes = np * (sizeof(Node) + 4 * sizeof(int32_t) +
                               2 * sizeof(int16_t) + 2);
    char *mem = (char *)malloc(bytes);
    if (mem == NULL)
        return -1;
    Sweep s;
    s.height = height;
    s.width = width;
    s.wp = wp;
    for (int k = 0; k < 8; k++)
        s.off[k] = NB_DY[k] * wp + NB_DX[k];
    s.gts = gts;
    s.ngt = ngt;
    s.node = (Node *)mem;
    s.par = (int32_t *)(s.node + np);
    s.next = s.par + np;
    s.live = s.next + np;
    s.holes = NULL;
    s.hstart = hstart;
    s.nholes = s.cap_holes = 0;
    uint32_t *order = (uint32_t *)(s.live + np);
    int16_t *lev = (int16_t *)(order + np);
    int16_t *tau = lev + np;
    uint8_t *fgm = (uint8_t *)(tau + np);
    uint8_t *ofg = fgm + np;
    const double empty_iou = best_iou(gts, ngt, 0, 0, 0, 0);

    /* padded levels: -1 outside the map */
    for (int32_t x = 0; x < wp; x++)
        lev[x] = lev[(height + 1) * wp + x] = -1;
    for (int32_t y = 0; y < height; y++) {
        int16_t *row = lev + (y + 1) * wp;
        const uint8_t *src = u8 + (size_t)y * (size_t)width;
        row[0] = row[wp - 1] = -1;
        for (int32_t x = 0; x < width; x++)
            row[x + 1] = src[x];
    }
    fg_masks(lev, height, width, fgm);
    sort_levels(lev, fgm, height, width, count, order, ofg, start);
    if (sweep_holes(&s, order, ofg, start, cuts, ncut, v2, tau) != 0) {
        rc = -1;
    } else if (sweep_components(&s, order, ofg, start, cuts, ncut, lev, tau,
                                v1, v2, nested, empty_iou) > 0) {
        fg_masks(tau, height, width, fgm);
        sort_levels(tau, fgm, height, width, NULL, order, ofg, start);
        sweep_filled(&s, order, ofg, start, cuts, ncut, tau, nested, v1,
                     empty_iou);
    }
    free(s.holes);
    free(mem);
    return rc;
}

/* int(t * top) as numpy's astype(int64) gives it on x86: NaN and
 * out-of-range products become INT64_MIN */
static int64_t threshold_cut(double t, int32_t top)
{
    const double v = t * (double)top;
    if (!(v > -9.2e18 && v < 9.2e18))
        return INT64_MIN;
    return (int64_t)v;
}

/* Per-threshold IoUs of one quantised map: each threshold's effective cut
 * (the largest occurring level <= int(t * top), -1 when there is none, top
 * when the foreground is empty), the sweeps over the distinct cuts below
 * top, then back to thresholds.  -1 when out of memory. */
static int threshold_ious(const uint8_t *u8, int32_t height, int32_t width,
                          const double *thr, int32_t nthr, const double *gts,
                          int32_t ngt, double *v1, double *v2)
{
    const size_t n = (size_t)height * (size_t)width;
    int32_t count[NLEVELS], last[NLEVELS], slot[NLEVELS + 1];
    int32_t cuts[NLEVELS], top = 0, ncut = 0;
    double uv1[NLEVELS], uv2[NLEVELS];
    count_levels(u8, n, count);
    for (int l = 0, prev = -1; l < NLEVELS; l++) {
        if (count[l] > 0)
            top = prev = l;
        last[l] = prev;
    }
    int32_t *eff = (int32_t *)malloc(sizeof(int32_t) * (size_t)(nthr + 1));
    if (eff == NULL)
        return -1;
    for (int l = 0; l <= NLEVELS; l++)
        slot[l] = -1;
    for (int32_t t = 0; t < nthr; t++) {
        const int64_t cut = threshold_cut(thr[t], top);
        const int32_t e = cut < 0 ? -1 : last[cut < top ? cut : top];
        eff[t] = e;
        slot[e + 1] = 0; /* used */
    }
    for (int l = 0; l <= top; l++) /* cuts -1 .. top - 1 */
        if (slot[l] == 0) {
            slot[l] = ncut;
            cuts[ncut++] = l - 1;
        }
    const double empty_iou = best_iou(gts, ngt, 0, 0, 0, 0);
    if (ncut > 0 &&
        run_sweeps(u8, count, height, width, cuts, ncut, gts, ngt, uv1,
                   uv2) != 0) {
        free(eff);
        return -1;
    }
    for (int32_t t = 0; t < nthr; t++) {
        const int32_t e = eff[t];
        v1[t] = e >= top ? empty_iou : uv1[slot[e + 1]];
        v2[t] = e >= top ? empty_iou : uv2[slot[e + 1]];
    }
    free(eff);
    return 0;
}

/* min and max over the non-NaN values (inf / -inf when there are none)
 * and whether there is a NaN.  Comparisons skip NaN; which of -0.0 / +0.0
 * is kept does not change the quantised map. */
static void range_f32(const float *f, size_t n, double *lo, double *hi,
                      int *has_nan)
{
    size_t i = 0;
    float flo = INFINITY, fhi = -INFINITY;
    int nan = 0;
#ifdef __SSE2__
    __m128 vlo = _mm_set1_ps(INFINITY), vhi = _mm_set1_ps(-INFINITY);
    __m128 vnan = _mm_setzero_ps();
    for (; i + 4 <= n; i += 4) {
        const __m128 v = _mm_loadu_ps(f + i);
        vlo = _mm_min_ps(v, vlo); /* v < lo ? v : lo */
        vhi = _mm_max_ps(v, vhi); /* v > hi ? v : hi */
        vnan = _mm_or_ps(vnan, _mm_cmpunord_ps(v, v));
    }
    float buf[4];
    _mm_storeu_ps(buf, vlo);
    for (int k = 0; k < 4; k++)
        flo = buf[k] < flo ? buf[k] : flo;
    _mm_storeu_ps(buf, vhi);
    for (int k = 0; k < 4; k++)
        fhi = buf[k] > fhi ? buf[k] : fhi;
    nan = _mm_movemask_ps(vnan) != 0;
#endif
    for (; i < n; i++) {
        flo = f[i] < flo ? f[i] : flo;
        fhi = f[i] > fhi ? f[i] : fhi;
        nan |= f[i] != f[i];
    }
    *lo = flo; /* float32 -> float64 is exact and monotonic */
    *hi = fhi;
    *has_nan = nan;
}

static void range_f64(const double *d, size_t n, double *lo, double *hi,
                      int *has_nan)
{
    size_t i = 0;
    double dlo = INFINITY, dhi = -INFINITY;
    int nan = 0;
#ifdef __SSE2__
    __m128d vlo = _mm_set1_pd(INFINITY), vhi = _mm_set1_pd(-INFINITY);
    __m128d vnan = _mm_setzero_pd();
    for (; i + 2 <= n; i += 2) {
        const __m128d v = _mm_loadu_pd(d + i);
        vlo = _mm_min_pd(v, vlo);
        vhi = _mm_max_pd(v, vhi);
        vnan = _mm_or_pd(vnan, _mm_cmpunord_pd(v, v));
    }
    double buf[2];
    _mm_storeu_pd(buf, vlo);
    for (int k = 0; k < 2; k++)
        dlo = buf[k] < dlo ? buf[k] : dlo;
    _mm_storeu_pd(buf, vhi);
    for (int k = 0; k < 2; k++)
        dhi = buf[k] > dhi ? buf[k] : dhi;
    nan = _mm_movemask_pd(vnan) != 0;
#endif
    for (; i < n; i++) {
        dlo = d[i] < dlo ? d[i] : dlo;
        dhi = d[i] > dhi ? d[i] : dhi;
        nan |= d[i] != d[i];
    }
    *lo = dlo;
    *hi = dhi;
    *has_nan = nan;
}

/* The uint8 map of wsolevaluation.  normalize: NaN anywhere or a constant
 * map -> zeros, else (v - min) / (max - min) * 255, truncated; without:
 * NaN -> 0, v * 255.  Returns 1 (u8 not written) when the map holds
 * +/-inf, 2 when normalize is off and the map leaves [0, 1]. */
static int quantize_map(const void *buf, int is_f32, size_t n, int normalize,
                        uint8_t *u8)
{
    const float *f = (const float *)buf;
    const double *d = (const double *)buf;
    double lo, hi;
    int has_nan;
    if (is_f32)
        range_f32(f, n, &lo, &hi, &has_nan);
    else
        range_f64(d, n, &lo, &hi, &has_nan);
    if (lo == -INFINITY || hi == INFINITY)
        return 1;
    const int has_val = lo <= hi;
    if (normalize) {
        if (has_nan || !has_val || lo == hi) {
            memset(u8, 0, n);
            return 0;
        }
        const double range = hi - lo;
        if (is_f32)
            for (size_t i = 0; i < n; i++)
                u8[i] = (uint8_t)(((double)f[i] - lo) / range * 255);
        else
            for (size_t i = 0; i < n; i++)
                u8[i] = (uint8_t)((d[i] - lo) / range * 255);
        return 0;
    }
    if (has_val && (lo < 0 || hi > 1)) /* NaN counts as 0 */
        return 2;
    for (size_t i = 0; i < n; i++) {
        const double v = is_f32 ? (double)f[i] : d[i];
        u8[i] = v != v ? 0 : (uint8_t)(v * 255);
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Python interface (buffer protocol, no numpy headers)
 * --------------------------------------------------------------------- */
static PyObject *py_quantize(PyObject *self, PyObject *args)
{
    Py_buffer mb, ub;
    int is_f32, normalize;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*ppw*", &mb, &is_f32, &normalize, &ub))
        return NULL;
    PyObject *ret = NULL;
    if (mb.len != ub.len * (is_f32 ? 4 : 8)) {
        PyErr_SetString(PyExc_ValueError, "quantize: inconsistent buffers");
    } else {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = quantize_map(mb.buf, is_f32, (size_t)ub.len, normalize,
                          (uint8_t *)ub.buf);
        Py_END_ALLOW_THREADS
        ret = PyLong_FromLong(rc);
    }
    PyBuffer_Release(&mb);
    PyBuffer_Release(&ub);
    return ret;
}

static PyObject *py_box_ious(PyObject *self, PyObject *args)
{
    Py_buffer u8b, tb, gtb, v1b, v2b;
    int height, width;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*iiy*y*w*w*", &u8b, &height, &width, &tb,
                          &gtb, &v1b, &v2b))
        return NULL;
    PyObject *ret = NULL;
    const Py_ssize_t nthr = tb.len / (Py_ssize_t)sizeof(double);
    const Py_ssize_t ngt = gtb.len / (Py_ssize_t)(4 * sizeof(double));
    if (height <= 0 || width <= 0 || height > MAX_SIDE ||
        width > MAX_SIDE || u8b.len != (Py_ssize_t)height * width ||
        tb.len != nthr * (Py_ssize_t)sizeof(double) || nthr > INT32_MAX ||
        gtb.len != ngt * (Py_ssize_t)(4 * sizeof(double)) || ngt < 1 ||
        ngt > INT32_MAX || v1b.len != tb.len || v2b.len != tb.len) {
        PyErr_SetString(PyExc_ValueError, "box_ious: inconsistent buffers");
        goto done;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = threshold_ious((const uint8_t *)u8b.buf, height, width,
                        (const double *)tb.buf, (int32_t)nthr,
                        (const double *)gtb.buf, (int32_t)ngt,
                        (double *)v1b.buf, (double *)v2b.buf);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        PyErr_NoMemory();
        goto done;
    }
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    PyBuffer_Release(&u8b);
    PyBuffer_Release(&tb);
    PyBuffer_Release(&gtb);
    PyBuffer_Release(&v1b);
    PyBuffer_Release(&v2b);
    return ret;
}

static PyMethodDef methods[] = {
    {"quantize", py_quantize, METH_VARARGS,
     "quantize(map, is_float32, normalize, out_u8) -> status\n\n"
     "uint8 map of wsolevaluation (normalize: min-max, NaN or constant ->\n"
     "zeros; else NaN -> 0).  status 0: done; 1: the map holds inf; 2:\n"
     "normalize is off and the map leaves [0, 1] (out_u8 not written)."},
    {"box_ious", py_box_ious, METH_VARARGS,
     "box_ious(u8, height, width, thresholds, gt_boxes, out_v1, out_v2)\n\n"
     "Per-threshold best IoU of the largest contour's box (out_v1) and of\n"
     "all contours' boxes (out_v2) of cv2.findContours(u8 > cut)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_box_sweep",
    "Threshold sweeps of the official WSOL box protocol.", -1, methods,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__box_sweep(void)
{
    build_tables();
    return PyModule_Create(&module);
}
