/* The compiled fast path of the EDIFACT lexer: adapters.edifact.hotloop._plain_run in C.
 *
 * plain_run(pieces, start, number, sink, cache, element_separator, release, layout)
 *     -> (index, number), the signature of _plain_run; configure() gives it, once, the
 *     Segment class, the set of plain tags and the bounds of the element cache.
 *
 * It does exactly what the pure-Python _plain_run does, for the ordinary segment only:
 * strip the layout, split on the element separator, look the tag up in plain_tags, look
 * each element up in the element cache (filling it as _ElementCache.__missing__ does),
 * build the Segment and hand it to sink. On the first piece that is anything else
 * (empty, a release character, an unknown or envelope tag, a piece that is not an
 * ASCII str, a separator that is not one ASCII character) it stops and returns that
 * piece's index: the Python loop deals with it, so errors, positions and warnings
 * come from the Python code, unchanged.
 *
 * layout_facts() (below) is the per-buffer scan of _layout_facts in one pass.
 *
 * Memory safety: every read of a piece is an index below PyUnicode_GET_LENGTH of that
 * piece, which is held by a strong reference while it is read; the list is indexed
 * through its current size on every turn; no pointer arithmetic beyond these bounds.
 * Every object made is either handed on or released on every path, errors included.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Set once by configure(): the Segment class, its four slot descriptors, the set of
 * plain tags (it only ever grows) and the bounds of the element cache. */
static PyTypeObject *segment_type = NULL;
static PyObject *slot_tag = NULL, *slot_elements = NULL, *slot_number = NULL,
                *slot_repeats = NULL, *plain_tags = NULL;
static Py_ssize_t cache_entries = 0, cache_value_length = 0;
/* Whether a Segment made here may be untracked by the collector (see configure). */
static int untrack_segments = 0;

static int
set_slot(PyObject *descr, PyObject *obj, PyObject *value)
{
    descrsetfunc set = Py_TYPE(descr)->tp_descr_set;
    return set(descr, obj, value);
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *type, *tags;
    PyObject *names[4];
    PyObject **slots[4] = {&slot_tag, &slot_elements, &slot_number, &slot_repeats};
    Py_ssize_t entries, value_length;
    if (!PyArg_ParseTuple(args, "O!(UUUU)O!nn:configure", &PyType_Type, &type, &names[0],
                          &names[1], &names[2], &names[3], &PySet_Type, &tags, &entries,
                          &value_length))
        return NULL;
    if (entries <= 0 || value_length < 0) {
        PyErr_SetString(PyExc_ValueError, "cache bounds must be positive");
        return NULL;
    }
    PyObject *dict = ((PyTypeObject *)type)->tp_dict;
    PyObject *found[4];
    for (int k = 0; k < 4; k++) { /* all four checked before anything changes */
        found[k] = PyDict_GetItemWithError(dict, names[k]);
        if (found[k] == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%R has no slot %R", type, names[k]);
            return NULL;
        }
        if (Py_TYPE(found[k]) != &PyMemberDescr_Type) {
            PyErr_Format(PyExc_TypeError, "%R.%U is not a slot", type, names[k]);
            return NULL;
        }
    }
    for (int k = 0; k < 4; k++) {
        Py_INCREF(found[k]);
        Py_XSETREF(*slots[k], found[k]);
    }
    /* A Segment made here refers to its four slots only, and they hold a str, an int and
     * tuples of tuples of str: it can be in no reference cycle, so the collector need
     * never scan it (the reasoning by which CPython untracks tuples of atomic objects).
     * That holds when the class is a direct subclass of object whose instances are
     * exactly the four slots: no __dict__ (nothing else can be attached), no other slot.
     * (An instance also refers to its class, which refers to no segment.) */
    PyTypeObject *t = (PyTypeObject *)type;
    untrack_segments = t->tp_base == &PyBaseObject_Type && t->tp_dictoffset == 0 &&
                       t->tp_weaklistoffset == 0 &&
                       t->tp_basicsize == (Py_ssize_t)(sizeof(PyObject) + 4 * sizeof(PyObject *));
    Py_INCREF(type);
    Py_XSETREF(segment_type, (PyTypeObject *)type);
    Py_INCREF(tags);
    Py_XSETREF(plain_tags, tags);
    cache_entries = entries;
    cache_value_length = value_length;
    Py_RETURN_NONE;
}

/* One ASCII character of a str argument, or -1 when it is not exactly that
 * (and 0 for the empty string when allow_empty). */
static int
one_ascii(PyObject *s, int allow_empty)
{
    if (!PyUnicode_Check(s) || !PyUnicode_IS_ASCII(s))
        return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n == 0)
        return allow_empty ? 0 : -1;
    if (n != 1)
        return -1;
    return PyUnicode_1BYTE_DATA(s)[0];
}

/* A tag seen in this call and found in plain_tags (plain_tags never loses a tag). */
#define TAG_SLOTS 32
#define TAG_MAX 8
typedef struct {
    Py_ssize_t len;
    char text[TAG_MAX];
    PyObject *tag; /* strong */
} known_tag;

/* The components of one element (the miss path of _ElementCache). */
static PyObject *
split_components(const Py_UCS1 *s, Py_ssize_t len, int comp)
{
    Py_ssize_t count = 1;
    for (Py_ssize_t k = 0; k < len; k++)
        if (s[k] == comp)
            count++;
    PyObject *value = PyTuple_New(count);
    if (value == NULL)
        return NULL;
    Py_ssize_t from = 0, at = 0;
    for (Py_ssize_t k = 0; k <= len; k++) {
        if (k == len || s[k] == comp) {
            PyObject *c = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, s + from, k - from);
            if (c == NULL) {
                Py_DECREF(value);
                return NULL;
            }
            PyTuple_SET_ITEM(value, at++, c);
            from = k + 1;
        }
    }
    /* A tuple of str can be in no reference cycle: untracked now, the collector never
     * scans it (CPython untracks such tuples itself, but only at its next collection). */
    PyObject_GC_UnTrack(value);
    return value;
}

/* The element tuple for text s[0:len]: from the cache, or split and (when short) cached. */
static PyObject *
element_of(PyObject *cache, const Py_UCS1 *s, Py_ssize_t len, int comp)
{
    PyObject *key = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, s, len);
    if (key == NULL)
        return NULL;
    PyObject *value = PyDict_GetItemWithError(cache, key);
    if (value != NULL) {
        Py_INCREF(value);
        Py_DECREF(key);
        return value;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    value = split_components(s, len, comp);
    if (value != NULL && len <= cache_value_length) {
        if (PyDict_GET_SIZE(cache) >= cache_entries)
            PyDict_Clear(cache);
        if (PyDict_SetItem(cache, key, value) < 0)
            Py_CLEAR(value);
    }
    Py_DECREF(key);
    return value;
}

static PyObject *plain_loop(PyObject *pieces, Py_ssize_t start, Py_ssize_t number,
                            PyObject *sink, PyObject *cache, PyObject *el_obj, PyObject *rel_obj,
                            PyObject *layout_obj, PyTypeObject *type, PyObject *tags_set,
                            PyObject *d_tag, PyObject *d_elements, PyObject *d_number,
                            PyObject *d_repeats, int untrack);

static PyObject *
plain_run(PyObject *module, PyObject *args)
{
    PyObject *pieces, *sink, *cache, *el_obj, *rel_obj, *layout_obj;
    Py_ssize_t start, number;
    if (!PyArg_ParseTuple(args, "O!nnOO!UUU:plain_run", &PyList_Type, &pieces, &start, &number,
                          &sink, &PyDict_Type, &cache, &el_obj, &rel_obj, &layout_obj))
        return NULL;
    if (segment_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_fastlex.configure() was not called");
        return NULL;
    }
    /* Strong references for the whole call: the sink runs Python code, which could (absurdly)
     * call configure() again and drop what this call is using. */
    PyTypeObject *type = segment_type;
    PyObject *tags_set = plain_tags;
    PyObject *d_tag = slot_tag, *d_elements = slot_elements, *d_number = slot_number,
             *d_repeats = slot_repeats;
    const int untrack = untrack_segments;
    Py_INCREF(type);
    Py_INCREF(tags_set);
    Py_INCREF(d_tag);
    Py_INCREF(d_elements);
    Py_INCREF(d_number);
    Py_INCREF(d_repeats);
    PyObject *result = plain_loop(pieces, start, number, sink, cache, el_obj, rel_obj, layout_obj,
                                  type, tags_set, d_tag, d_elements, d_number, d_repeats, untrack);
    Py_DECREF(d_repeats);
    Py_DECREF(d_number);
    Py_DECREF(d_elements);
    Py_DECREF(d_tag);
    Py_DECREF(tags_set);
    Py_DECREF(type);
    return result;
}

static PyObject *
plain_loop(PyObject *pieces, Py_ssize_t start, Py_ssize_t number, PyObject *sink, PyObject *cache,
           PyObject *el_obj, PyObject *rel_obj, PyObject *layout_obj, PyTypeObject *type,
           PyObject *tags_set, PyObject *d_tag, PyObject *d_elements, PyObject *d_number,
           PyObject *d_repeats, int untrack)
{
    /* The cache's component separator (an _ElementCache splits on it). */
    PyObject *comp_obj = PyObject_GetAttrString(cache, "component");
    if (comp_obj == NULL)
        return NULL;
    int el = one_ascii(el_obj, 0);
    int rel = one_ascii(rel_obj, 1);
    int comp = one_ascii(comp_obj, 0);
    Py_DECREF(comp_obj);
    char strip[128] = {0};
    int usable = el > 0 && rel >= 0 && comp > 0 && PyUnicode_IS_ASCII(layout_obj) && start >= 0;
    if (usable) {
        const Py_UCS1 *lay = PyUnicode_1BYTE_DATA(layout_obj);
        for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(layout_obj); k++)
            strip[lay[k] & 0x7f] = 1;
    }
    known_tag tags[TAG_SLOTS];
    int ntags = 0;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return NULL;
    /* Past the end: the index of the end, as _plain_run returns it. */
    Py_ssize_t i = start < PyList_GET_SIZE(pieces) ? start : PyList_GET_SIZE(pieces);
    int failed = 0;
    /* Anything unusual in the arguments: process nothing, the Python loop reads the piece. */
    while (usable && !failed && i < PyList_GET_SIZE(pieces)) {
        PyObject *text = PyList_GET_ITEM(pieces, i);
        if (!PyUnicode_CheckExact(text) || !PyUnicode_IS_ASCII(text))
            break;
        Py_INCREF(text);
        const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
        Py_ssize_t lo = 0, hi = PyUnicode_GET_LENGTH(text);
        while (lo < hi && strip[s[lo]])
            lo++;
        while (hi > lo && strip[s[hi - 1]])
            hi--;
        int stop = lo == hi;
        Py_ssize_t nsep = 0, tag_end = hi;
        for (Py_ssize_t k = lo; k < hi && !stop; k++) {
            if (s[k] == rel && rel != 0)
                stop = 1;
            else if (s[k] == el) {
                if (nsep == 0)
                    tag_end = k;
                nsep++;
            }
        }
        PyObject *tag = NULL;
        if (!stop) {
            Py_ssize_t tlen = tag_end - lo;
            for (int t = 0; t < ntags; t++) {
                if (tags[t].len == tlen && memcmp(tags[t].text, s + lo, (size_t)tlen) == 0) {
                    tag = tags[t].tag;
                    Py_INCREF(tag);
                    break;
                }
            }
            if (tag == NULL) {
                tag = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, s + lo, tlen);
                int known = tag == NULL ? -1 : PySet_Contains(tags_set, tag);
                if (known < 0)
                    failed = 1;
                else if (known == 0)
                    stop = 1;
                else if (ntags < TAG_SLOTS && tlen <= TAG_MAX) {
                    tags[ntags].len = tlen;
                    memcpy(tags[ntags].text, s + lo, (size_t)tlen);
                    Py_INCREF(tag);
                    tags[ntags].tag = tag;
                    ntags++;
                }
            }
        }
        if (stop || failed) {
            Py_XDECREF(tag);
            Py_DECREF(text);
            break;
        }
        PyObject *elements = PyTuple_New(nsep);
        Py_ssize_t from = tag_end + 1, at = 0;
        for (Py_ssize_t k = tag_end + 1; elements != NULL && k <= hi && at < nsep; k++) {
            if (k == hi || s[k] == el) {
                PyObject *value = element_of(cache, s + from, k - from, comp);
                if (value == NULL) {
                    Py_CLEAR(elements);
                    break;
                }
                PyTuple_SET_ITEM(elements, at++, value);
                from = k + 1;
            }
        }
        Py_DECREF(text);
        if (elements != NULL && at != nsep) { /* cannot happen: every slot is filled above */
            Py_CLEAR(elements);
            PyErr_SetString(PyExc_SystemError, "_fastlex: an element was not filled");
        }
        /* Its items are tuples of str only (untracked above, or cached ones): no cycle. */
        if (elements != NULL && PyObject_GC_IsTracked(elements))
            PyObject_GC_UnTrack(elements);
        PyObject *seg = NULL, *num = NULL;
        if (elements != NULL && (num = PyLong_FromSsize_t(number + 1)) != NULL &&
            (seg = type->tp_new(type, empty, NULL)) != NULL && set_slot(d_tag, seg, tag) == 0 &&
            set_slot(d_elements, seg, elements) == 0 && set_slot(d_number, seg, num) == 0 &&
            set_slot(d_repeats, seg, empty) == 0) {
            if (untrack && PyObject_GC_IsTracked(seg))
                PyObject_GC_UnTrack(seg);
            PyObject *r = PyObject_CallOneArg(sink, seg);
            if (r == NULL)
                failed = 1;
            Py_XDECREF(r);
        }
        else
            failed = 1;
        Py_XDECREF(seg);
        Py_XDECREF(num);
        Py_XDECREF(elements);
        Py_DECREF(tag);
        if (!failed) {
            number++;
            i++;
        }
    }
    for (int t = 0; t < ntags; t++)
        Py_DECREF(tags[t].tag);
    Py_DECREF(empty);
    if (failed)
        return NULL;
    return Py_BuildValue("nn", i, number);
}

/* layout_facts(buf, element, component, release, terminator, rel_in) -> (spaced, inner)
 * or None: adapters.edifact.hotloop._layout_facts in one pass instead of about ten scans.
 * None (the Python function decides) when a separator is not one byte, or is a space,
 * CR, LF or tab, or the release character is: there the counts of the Python function
 * overlap with the layout, and it stays the only definition. Otherwise, by the same
 * reasoning as its counts (every CR inside "T CR LF", every LF after "T" or "T CR";
 * "R T CR" / "R T LF" when rel_in; a tab; all in the buffer after its leading CR/LF):
 *   spaced: " " before E or C, or E or C before " " not preceded by R (when rel_in);
 *   inner:  a tab, a CR not in "T CR LF", an LF after neither "T" nor "T CR", or
 *           R T followed by CR or LF (when rel_in). */
static int
layout_byte(int c)
{
    return c == ' ' || c == '\r' || c == '\n' || c == '\t';
}

static PyObject *
layout_facts(PyObject *module, PyObject *args)
{
    Py_buffer buf;
    const char *el_s, *comp_s, *rel_s, *term_s;
    Py_ssize_t el_n, comp_n, rel_n, term_n;
    int rel_in;
    if (!PyArg_ParseTuple(args, "y*y#y#y#y#p:layout_facts", &buf, &el_s, &el_n, &comp_s,
                          &comp_n, &rel_s, &rel_n, &term_s, &term_n, &rel_in))
        return NULL;
    if (el_n != 1 || comp_n != 1 || term_n != 1 || rel_n > 1 || layout_byte(el_s[0]) ||
        layout_byte(comp_s[0]) || layout_byte(term_s[0]) ||
        (rel_n == 1 && layout_byte(rel_s[0]))) {
        PyBuffer_Release(&buf);
        Py_RETURN_NONE;
    }
    const unsigned char *b = buf.buf;
    const Py_ssize_t n = buf.len;
    const int el = (unsigned char)el_s[0], comp = (unsigned char)comp_s[0];
    const int term = (unsigned char)term_s[0];
    /* The release character counts only when the buffer holds it (rel_in), as in Python. */
    const int rel = rel_in && rel_n == 1 ? (unsigned char)rel_s[0] : -1;
    Py_ssize_t body = 0; /* the buffer after its leading CR/LF */
    while (body < n && (b[body] == '\r' || b[body] == '\n'))
        body++;
    int spaced = 0, inner = 0;
    for (Py_ssize_t k = 0; k < n && !(spaced && inner); k++) {
        const int c = b[k];
        const int next = k + 1 < n ? b[k + 1] : -1;
        if (c == ' ') {
            if (next == el || next == comp)
                spaced = 1;
        }
        else if (c == el || c == comp) {
            if (next == ' ' && !(rel >= 0 && k > 0 && b[k - 1] == rel))
                spaced = 1;
        }
        if (k < body)
            continue;
        const int prev = k - 1 >= body ? b[k - 1] : -1;
        if (c == '\t')
            inner = 1;
        else if (c == '\r') {
            if (prev != term || next != '\n')
                inner = 1;
        }
        else if (c == '\n') {
            if (prev != term && !(prev == '\r' && k - 2 >= body && b[k - 2] == term))
                inner = 1;
        }
        else if (c == term && rel >= 0 && prev == rel && (next == '\r' || next == '\n'))
            inner = 1;
    }
    PyBuffer_Release(&buf);
    return Py_BuildValue("(OO)", spaced ? Py_True : Py_False, inner ? Py_True : Py_False);
}

static PyObject *
untracks_segments(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(untrack_segments);
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(segment_type, (tag, elements, number, repeats), plain_tags, cache_entries, "
     "cache_value_length): what plain_run builds, the tags it reads, the cache's bounds."},
    {"untracks_segments", untracks_segments, METH_NOARGS,
     "Whether the Segments plain_run makes are left out of the cyclic collector."},
    {"layout_facts", layout_facts, METH_VARARGS,
     "Spaces next to separators, layout inside segments (see hotloop._layout_facts)."},
    {"plain_run", plain_run, METH_VARARGS,
     "The ordinary segments of pieces from start (see adapters.edifact.hotloop._plain_run)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_fastlex",
    "Compiled fast path of the EDIFACT lexer (see adapters/edifact/hotloop.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* The interface version: hotloop.py uses the module only when it expects this one, so a build
 * left over from an older _fastlex.c is ignored rather than called wrongly. Bump it with
 * _FASTLEX_API in hotloop.py whenever a signature or a result changes. */
#define FASTLEX_API 1

PyMODINIT_FUNC
PyInit__fastlex(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (m != NULL && PyModule_AddIntConstant(m, "API", FASTLEX_API) < 0)
        Py_CLEAR(m);
    return m;
}
