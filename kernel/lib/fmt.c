/*
 * fmt.c - printf-style formatting without libc (kernel/lib/fmt.h).
 *
 * One pass over the format; output goes through put(), which counts every
 * byte (for the C99 return value) but stores only while there is room, so
 * truncation never overruns and the result is always NUL terminated.
 * Widths and precisions are clamped to 4096 (FMT_FIELD_MAX).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/fmt.h"

struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void
put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void
pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

/* Emit a number's digits with sign/prefix, width and precision. */
static void
emit_num(struct out *o, uint64_t v, int base, int upper, int neg,
    char sign, int alt, int left, int zero, int width, int prec)
{
	char digits[24];
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int nd = 0;

	if (!(prec == 0 && v == 0)) {
		do {
			digits[nd++] = set[v % (unsigned)base];
			v /= (unsigned)base;
		} while (v != 0);
	}
	char pre[3];
	int np = 0;
	if (neg)
		pre[np++] = '-';
	else if (sign)
		pre[np++] = sign;
	if (alt && base == 16 && nd > 0 && !(nd == 1 && digits[0] == '0')) {
		pre[np++] = '0';
		pre[np++] = upper ? 'X' : 'x';
	}
	if (alt && base == 8 && (nd == 0 || digits[nd - 1] != '0'))
		digits[nd++] = '0';
	int zeros = prec > nd ? prec - nd : 0;
	int total = np + zeros + nd;
	if (prec < 0 && zero && !left && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!left)
		pad(o, ' ', width - total);
	for (int i = 0; i < np; i++)
		put(o, pre[i]);
	pad(o, '0', zeros);
	while (nd > 0)
		put(o, digits[--nd]);
	if (left)
		pad(o, ' ', width - total);
}

/*
 * Width and precision come from the format (or '*' arguments); clamp them
 * so a silly "%999999999999d" can neither overflow an int nor spin for
 * billions of padding bytes.
 */
#define FMT_FIELD_MAX 4096

static int
digit_acc(int v, char d)
{
	v = v * 10 + (d - '0');
	return v > FMT_FIELD_MAX ? FMT_FIELD_MAX : v;
}

int
kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = { buf, n, 0 };

	for (const char *f = fmt; *f != '\0'; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		int left = 0, zero = 0, alt = 0;
		char sign = 0;
		for (;; f++) {
			if (*f == '-')
				left = 1;
			else if (*f == '0')
				zero = 1;
			else if (*f == '+')
				sign = '+';
			else if (*f == ' ') {
				if (sign != '+')
					sign = ' ';
			} else if (*f == '#')
				alt = 1;
			else
				break;
		}
		int width = 0;
		if (*f == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = 1;
				width = width < -FMT_FIELD_MAX ? FMT_FIELD_MAX : -width;
			}
			if (width > FMT_FIELD_MAX)
				width = FMT_FIELD_MAX;
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				width = digit_acc(width, *f++);
		}
		int prec = -1;
		if (*f == '.') {
			f++;
			prec = 0;
			if (*f == '*') {
				prec = va_arg(ap, int);
				if (prec < 0)
					prec = -1;
				else if (prec > FMT_FIELD_MAX)
					prec = FMT_FIELD_MAX;
				f++;
			} else {
				while (*f >= '0' && *f <= '9')
					prec = digit_acc(prec, *f++);
			}
		}
		int lmod = 0;	/* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size/ptrdiff/intmax */
		if (*f == 'h') {
			lmod = -1;
			if (*++f == 'h') {
				lmod = -2;
				f++;
			}
		} else if (*f == 'l') {
			lmod = 1;
			if (*++f == 'l') {
				lmod = 2;
				f++;
			}
		} else if (*f == 'z' || *f == 't' || *f == 'j') {
			lmod = 3;
			f++;
		}
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v;
			if (lmod >= 1)
				v = lmod == 1 ? va_arg(ap, long) : va_arg(ap, long long);
			else
				v = va_arg(ap, int);
			if (lmod == -1)
				v = (short)v;
			else if (lmod == -2)
				v = (signed char)v;
			uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			emit_num(&o, u, 10, 0, v < 0, sign, 0, left, zero, width, prec);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v;
			if (lmod >= 1)
				v = lmod == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
			else
				v = va_arg(ap, unsigned int);
			if (lmod == -1)
				v = (unsigned short)v;
			else if (lmod == -2)
				v = (unsigned char)v;
			int base = *f == 'u' ? 10 : *f == 'o' ? 8 : 16;
			emit_num(&o, v, base, *f == 'X', 0, 0, alt, left, zero, width, prec);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			if (v == 0) {
				const char *s = "(nil)";
				int len = 5;
				if (!left)
					pad(&o, ' ', width - len);
				while (*s)
					put(&o, *s++);
				if (left)
					pad(&o, ' ', width - len);
			} else {
				emit_num(&o, v, 16, 0, 0, 0, 1, left, 0, width, -1);
			}
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			if (!left)
				pad(&o, ' ', width - 1);
			put(&o, c);
			if (left)
				pad(&o, ' ', width - 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			int len = 0;
			while (s[len] != '\0' && (prec < 0 || len < prec))
				len++;
			if (!left)
				pad(&o, ' ', width - len);
			for (int i = 0; i < len; i++)
				put(&o, s[i]);
			if (left)
				pad(&o, ' ', width - len);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			f--;	/* a lone '%' at the end: stop */
			break;
		default:
			/* Unknown conversion: print it literally. */
			put(&o, '%');
			put(&o, *f);
			break;
		}
	}
	if (n > 0)
		buf[o.len < n ? o.len : n - 1] = '\0';
	return (int)o.len;
}

int
ksnprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = kvsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
