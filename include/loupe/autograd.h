/* autograd.h — reverse-mode automatic differentiation on a dynamic tape.
 *
 * A differentiable op computes its result eagerly and then calls ag_record(). When grad mode
 * is on and an input requires grad, ag_record() attaches a node to the result: the node keeps
 * edges to its inputs' nodes (or, for leaves, to the leaf tensors themselves), their shapes,
 * and the tensors the backward function needs (ag_save). Edges point from outputs to inputs
 * only, so reference counts cannot form cycles; saved tensors are stored as detached aliases
 * for the same reason.
 *
 * ag_backward() walks the graph in reverse topological order, calls each node's backward
 * function with grad mode off (backward functions use the ordinary ops of ops.h), sums the
 * gradients arriving at each node, and accumulates into the .grad of leaves. Unless asked to
 * retain it, each node drops its saved tensors once used. */
#ifndef LOUPE_AUTOGRAD_H
#define LOUPE_AUTOGRAD_H

#include "loupe/tensor.h"

#define AG_MAX_SAVED 4

struct ag_node;

/* Computes grad_in[i] (owned, or left NULL) for each input i with ag_needs(node, i), from the
 * gradient of the output. Returns 0, or -1 with err_set. */
typedef int (*ag_backward_fn)(struct ag_node *node, struct tensor *grad_out,
                              struct tensor **grad_in);

struct ag_input {
    struct ag_node *node; /* producer of a non-leaf input, owned reference */
    struct tensor *leaf;  /* leaf input that requires grad, owned reference */
    int ndim;
    int64_t shape[TENSOR_MAXDIM];
};

struct ag_node {
    int refcount;
    const char *name; /* "MulBackward", shown by grad_fn() */
    ag_backward_fn backward;
    struct tensor *saved[AG_MAX_SAVED];
    uint32_t saved_version[AG_MAX_SAVED];
    int n_saved;
    bool released;    /* saved tensors dropped after a backward pass */
    int64_t iarg[TENSOR_MAXDIM * 2]; /* op parameters (dims, sizes, flags) */
    double farg[4];
    void *ctx;                 /* op-specific data freed with ctx_free */
    void (*ctx_free)(void *);
    /* bookkeeping of one backward pass */
    struct tensor *grad_acc;
    int pending;
    int mark;
    int n_in;
    struct ag_input in[]; /* flexible: one per input */
};

/* Grad mode (on by default). ag_set_grad_enabled returns the previous value. */
bool ag_grad_enabled(void);
bool ag_set_grad_enabled(bool on);

/* If the op must be recorded, creates a node named `name` with `backward` over the n inputs,
 * attaches it to *out and returns it; returns NULL if not (grad mode off or no input needs
 * grad). On allocation failure releases *out, sets it to NULL and returns NULL. */
struct ag_node *ag_record(struct tensor **out, const char *name, ag_backward_fn backward,
                          int n, struct tensor *const *inputs);

/* Keeps t for backward (as a detached alias; its storage version is remembered). */
void ag_save(struct ag_node *node, const struct tensor *t);
/* The i-th saved tensor (borrowed), or NULL with an error if it was modified in place since
 * it was saved or the graph was already freed. */
struct tensor *ag_saved(struct ag_node *node, int i);

/* Whether input i of node needs a gradient. */
static inline bool ag_needs(const struct ag_node *node, int i)
{
    return node->in[i].node != NULL || node->in[i].leaf != NULL;
}

/* Backpropagates from root with the given output gradient (NULL means 1 for a one-element
 * root). Accumulates into leaves' .grad. Returns 0 or -1 with err_set. */
int ag_backward(struct tensor *root, struct tensor *grad, bool retain_graph);

void ag_node_retain(struct ag_node *n);
void ag_node_release(struct ag_node *n);

/* Detaches t from its history: drops grad_fn and clears requires_grad. */
void ag_detach_(struct tensor *t);

/* Returns -1 with an error if an in-place op named `op` may not modify t: under the current
 * grad mode (t requires grad while grad mode is on), or because several of its elements share
 * memory (an expanded view), where the result would depend on the order of the writes. */
int ag_check_inplace(const char *op, const struct tensor *t);

#endif
