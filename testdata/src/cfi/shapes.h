struct Shape {
  virtual ~Shape() {}
  virtual int area() const = 0;
};
Shape *make_square(int side);
Shape *make_rect(int w, int h);
/* Inline, used from two files: emitted in a comdat in each. */
inline int shared_inline(int x) { return x * 13 + 1; }
extern "C" {
typedef int (*cb_fn)(int);
cb_fn icall_get(int which);
int icall_apply(int which, int x);
}
