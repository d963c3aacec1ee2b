// C shim for ncursesw. SwiftPM drops pkg-config's -D_XOPEN_SOURCE, which leaves
// NCURSES_WIDECHAR at 0 and hides get_wch/cchar_t/setcchar; define it here first.
#ifndef GRIDTOP_CNCURSESW_SHIM_H
#define GRIDTOP_CNCURSESW_SHIM_H
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Not exported by Swift's Glibc module.
extern int wcwidth(wchar_t c);

// Macros and globals wrapped for Swift (macros are invisible; globals trip strict concurrency).
static inline int gt_lines(void) { return LINES; }
static inline int gt_cols(void) { return COLS; }
static inline int gt_colors(void) { return COLORS; }
static inline int gt_color_pairs(void) { return COLOR_PAIRS; }
static inline WINDOW *gt_stdscr(void) { return stdscr; }
static inline attr_t gt_color_pair(int n) { return (attr_t)COLOR_PAIR(n); }
static inline attr_t gt_a_bold(void) { return A_BOLD; }
static inline attr_t gt_a_reverse(void) { return A_REVERSE; }
static inline attr_t gt_a_underline(void) { return A_UNDERLINE; }
static inline attr_t gt_a_dim(void) { return A_DIM; }
static inline attr_t gt_a_normal(void) { return A_NORMAL; }
static inline int gt_key_resize(void) { return KEY_RESIZE; }
static inline int gt_wcwidth(unsigned int c) { return wcwidth((wchar_t)c); }
static inline void gt_getmaxyx(WINDOW *w, int *y, int *x) { int yy, xx; getmaxyx(w, yy, xx); *y = yy; *x = xx; }
#endif
