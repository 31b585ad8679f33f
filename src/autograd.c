/* autograd.c — recording nodes and running the backward pass (see autograd.h). */
#include "loupe/autograd.h"

#include "loupe/core.h"
#include "loupe/ops.h"

#include <stdlib.h>
#include <string.h>

static bool grad_enabled = true;

bool ag_grad_enabled(void) { return grad_enabled; }

bool ag_set_grad_enabled(bool on)
{
    bool old = grad_enabled;
    grad_enabled = on;
    return old;
}

void ag_node_retain(struct ag_node *n)
{
    if (n)
        n->refcount++;
}

static void node_drop_saved(struct ag_node *n)
{
    for (int i = 0; i < n->n_saved; i++) {
        tensor_release(n->saved[i]);
        n->saved[i] = NULL;
    }
}

/* Releases iteratively: a long chain of nodes (a 10,000-step loop that keeps building on one
 * tensor) must not overflow the C stack. */
void ag_node_release(struct ag_node *n)
{
    struct ag_node *stack_small[64], **stack = stack_small;
    int cap = 64, top = 0;
    if (!n)
        return;
    stack[top++] = n;
    while (top > 0) {
        struct ag_node *x = stack[--top];
        if (--x->refcount > 0)
            continue;
        for (int i = 0; i < x->n_in; i++) {
            tensor_release(x->in[i].leaf);
            struct ag_node *child = x->in[i].node;
            if (!child)
                continue;
            if (top == cap) {
                struct ag_node **bigger = malloc(sizeof *bigger * (size_t)cap * 2);
                if (!bigger) { /* cannot grow: fall back to recursion for this child */
                    ag_node_release(child);
                    continue;
                }
                memcpy(bigger, stack, sizeof *stack * (size_t)top);
                if (stack != stack_small)
                    free(stack);
                stack = bigger;
                cap *= 2;
            }
            stack[top++] = child;
        }
        node_drop_saved(x);
        tensor_release(x->grad_acc);
        if (x->ctx_free)
            x->ctx_free(x->ctx);
        free(x);
    }
    if (stack != stack_small)
        free(stack);
}

struct ag_node *ag_record(struct tensor **out, const char *name, ag_backward_fn backward,
                          int n, struct tensor *const *inputs)
{
    if (!grad_enabled || !*out)
        return NULL;
    bool any = false;
    for (int i = 0; i < n; i++)
        any |= inputs[i] && inputs[i]->requires_grad;
    if (!any)
        return NULL;
    struct ag_node *node = calloc(1, sizeof *node + sizeof(struct ag_input) * (size_t)n);
    if (!node) {
        err_set("%s: out of memory recording the autograd graph", name);
        tensor_release(*out);
        *out = NULL;
        return NULL;
    }
    node->refcount = 1;
    node->name = name;
    node->backward = backward;
    node->n_in = n;
    for (int i = 0; i < n; i++) {
        const struct tensor *x = inputs[i];
        if (!x)
            continue;
        node->in[i].ndim = x->ndim;
        memcpy(node->in[i].shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
        if (!x->requires_grad)
            continue;
        if (x->grad_fn) {
            node->in[i].node = x->grad_fn;
            ag_node_retain(x->grad_fn);
        } else {
            node->in[i].leaf = tensor_retain((struct tensor *)x);
        }
    }
    struct tensor *o = *out;
    ag_node_release(o->grad_fn);
    o->grad_fn = node;
    o->requires_grad = true;
    return node;
}

void ag_save(struct ag_node *node, const struct tensor *t)
{
    if (node->n_saved >= AG_MAX_SAVED)
        return; /* programming error caught by the gradient tests: ag_saved reports it */
    struct tensor *alias = tensor_alias(t, t->ndim, t->shape, t->stride, t->offset);
    node->saved[node->n_saved] = alias; /* NULL on allocation failure; ag_saved reports it */
    node->saved_version[node->n_saved] = t->storage->version;
    node->n_saved++;
}

struct tensor *ag_saved(struct ag_node *node, int i)
{
    if (node->released) {
        err_set("%s: trying to backward through the graph a second time (pass "
                "retain_graph=true the first time)", node->name);
        return NULL;
    }
    if (i >= node->n_saved || !node->saved[i]) {
        err_set("%s: saved tensor %d is missing (out of memory while recording?)", node->name, i);
        return NULL;
    }
    if (node->saved[i]->storage->version != node->saved_version[i]) {
        err_set("%s: a tensor needed for the gradient was modified by an in-place operation "
                "after it was used", node->name);
        return NULL;
    }
    return node->saved[i];
}

void ag_detach_(struct tensor *t)
{
    ag_node_release(t->grad_fn);
    t->grad_fn = NULL;
    t->requires_grad = false;
}

int ag_check_inplace(const char *op, const struct tensor *t)
{
    if (grad_enabled && t->requires_grad)
        return err_set("%s: in-place operation on a tensor that requires grad (use "
                       "loupe.no_grad or detach() to modify it)", op);
    /* x:expand(4, 3):add_(1) would add 4 times to each element (PyTorch refuses it too) */
    for (int d = 0; d < t->ndim; d++)
        if (t->stride[d] == 0 && t->shape[d] > 1)
            return err_set("%s: the tensor written in place is an expanded view %s whose "
                           "elements share memory (clone() it first)", op, tshape(t));
    return 0;
}

/* ---- backward pass ---- */

/* Adds g into *acc (creating it as a private copy the first time). */
/* Whether nothing else can see g: the first gradient can then become the accumulator itself
 * (later ones are added into it in place) instead of being copied (copies were 3% of a
 * ResNet-18 training step). A shared tensor or storage, a view or a graph node rules it out. */
static bool exclusive(const struct tensor *g)
{
    return g->refcount == 1 && g->storage->refcount == 1 && g->offset == 0 && !g->grad_fn &&
           !g->requires_grad && tensor_is_contiguous(g) &&
           g->storage->nbytes == (size_t)tensor_numel(g) * dtype_size(g->dtype);
}

static int accumulate(struct tensor **acc, struct tensor *g)
{
    if (!*acc) {
        *acc = exclusive(g) ? tensor_retain(g) : tensor_copy(g);
        return *acc ? 0 : -1;
    }
    return op_binary_(BIN_ADD, *acc, g);
}

static int check_grad_shape(struct ag_node *n, int i, struct tensor *g)
{
    const struct ag_input *in = &n->in[i];
    bool ok = g->ndim == in->ndim && g->dtype == DT_FLOAT32;
    for (int d = 0; ok && d < in->ndim; d++)
        ok = g->shape[d] == in->shape[d];
    if (!ok)
        return err_set("%s: gradient of input %d has shape %s, expected %s (internal error)",
                       n->name, i + 1, tshape(g), shape_fmt(in->ndim, in->shape));
    return 0;
}

/* Collects the nodes reachable from root in an order where every node comes before the
 * nodes it feeds into reversed, i.e. a reverse topological order, and counts for each node
 * how many gradient contributions it will receive. Iterative DFS. */
static int topo_order(struct ag_node *root, struct ag_node ***order_out, int *count_out)
{
    int cap = 64, count = 0, scap = 64, top = 0;
    struct ag_node **order = malloc(sizeof *order * (size_t)cap);
    struct ag_node **stack = malloc(sizeof *stack * (size_t)scap);
    if (!order || !stack)
        goto oom;
    /* mark: 0 unseen, 1 seen. pending counts edges into each node from reachable consumers. */
    root->mark = 1;
    root->pending = 0;
    stack[top++] = root;
    while (top > 0) {
        struct ag_node *n = stack[--top];
        if (count == cap) {
            struct ag_node **b = realloc(order, sizeof *order * (size_t)cap * 2);
            if (!b)
                goto oom;
            order = b;
            cap *= 2;
        }
        order[count++] = n;
        for (int i = 0; i < n->n_in; i++) {
            struct ag_node *c = n->in[i].node;
            if (!c)
                continue;
            if (c->mark) {
                c->pending++;
                continue;
            }
            c->mark = 1;
            c->pending = 1;
            if (top == scap) {
                struct ag_node **b = realloc(stack, sizeof *stack * (size_t)scap * 2);
                if (!b)
                    goto oom;
                stack = b;
                scap *= 2;
            }
            stack[top++] = c;
        }
    }
    free(stack);
    *order_out = order;
    *count_out = count;
    return 0;
oom:
    for (int i = 0; i < count; i++)
        order[i]->mark = 0;
    free(order);
    free(stack);
    return err_set("backward: out of memory ordering the graph");
}

int ag_backward(struct tensor *root, struct tensor *grad, bool retain_graph)
{
    if (!root->requires_grad)
        return err_set("backward: the tensor does not require grad and has no grad_fn");
    struct tensor *g0;
    if (grad) {
        if (!tensor_same_shape(grad, root) || grad->dtype != DT_FLOAT32)
            return err_set("backward: gradient has shape %s %s, expected %s float32",
                           tshape(grad), dtype_name(grad->dtype), tshape(root));
        g0 = tensor_copy(grad);
    } else {
        if (tensor_numel(root) != 1)
            return err_set("backward: a gradient must be given for a tensor of shape %s "
                           "(implicit only for one-element tensors)", tshape(root));
        g0 = op_full(root->ndim, root->shape, 1.0, DT_FLOAT32);
    }
    if (!g0)
        return -1;
    if (!root->grad_fn) { /* a leaf */
        int rc = accumulate(&root->grad, g0);
        tensor_release(g0);
        return rc;
    }

    bool was_enabled = ag_set_grad_enabled(false);
    struct ag_node **order = NULL;
    int count = 0, rc = 0;
    if (topo_order(root->grad_fn, &order, &count) < 0) {
        tensor_release(g0);
        ag_set_grad_enabled(was_enabled);
        return -1;
    }
    root->grad_fn->grad_acc = g0;

    /* Kahn's algorithm over the collected nodes: a node runs once every consumer has
     * delivered its gradient contribution (pending reaches 0). */
    struct ag_node **ready = malloc(sizeof *ready * (size_t)count);
    int nready = 0;
    if (!ready) {
        rc = err_set("backward: out of memory");
        goto done;
    }
    ready[nready++] = root->grad_fn;
    root->grad_fn->pending = 0;
    while (nready > 0 && rc == 0) {
        struct ag_node *n = ready[--nready];
        if (core_interrupted()) {
            rc = err_set("interrupted");
            break;
        }
        if (n->released) {
            rc = err_set("%s: trying to backward through the graph a second time (pass "
                         "retain_graph=true the first time)", n->name);
            break;
        }
        struct tensor *gin_small[8], **gin = gin_small;
        if (n->n_in > 8 && !(gin = calloc((size_t)n->n_in, sizeof *gin))) {
            rc = err_set("backward: out of memory");
            break;
        }
        memset(gin, 0, sizeof *gin * (size_t)(n->n_in > 8 ? n->n_in : 8));
        if (n->grad_acc)
            rc = n->backward(n, n->grad_acc, gin);
        for (int i = 0; i < n->n_in; i++) {
            struct ag_input *in = &n->in[i];
            if (rc == 0 && gin[i] && ag_needs(n, i)) {
                rc = check_grad_shape(n, i, gin[i]);
                if (rc == 0)
                    rc = accumulate(in->leaf ? &in->leaf->grad : &in->node->grad_acc, gin[i]);
            }
            tensor_release(gin[i]);
            if (in->node && --in->node->pending == 0)
                ready[nready++] = in->node;
        }
        if (gin != gin_small)
            free(gin);
        tensor_release(n->grad_acc);
        n->grad_acc = NULL;
        if (!retain_graph) {
            node_drop_saved(n);
            n->released = true;
        }
    }
done:
    for (int i = 0; i < count; i++) {
        order[i]->mark = 0;
        order[i]->pending = 0;
        tensor_release(order[i]->grad_acc);
        order[i]->grad_acc = NULL;
    }
    free(order);
    free(ready);
    ag_set_grad_enabled(was_enabled);
    return rc;
}
