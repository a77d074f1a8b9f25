/* The table of store operations built from proto/store_ops.h's lists. */
#include "proto/store_ops.h"

#include <stddef.h>

#define STORE_COL_SPEC_(id, name, type) { name, type },
#define STORE_SHAPE_TABLE_(shape, COLS) \
	static const struct store_column shape_##shape[shape##_COLUMNS + 1] __attribute__((unused)) = { COLS(STORE_COL_SPEC_) { NULL, 0 } };
STORE_SHAPES(STORE_SHAPE_TABLE_)
#undef STORE_SHAPE_TABLE_
#undef STORE_COL_SPEC_

#define STORE_OP_SPEC_(name_, fn, args_, shape) \
	[STORE_OP_##name_] = { .name = #name_, .args = args_, .cols = shape_##shape, .n_cols = shape##_COLUMNS },
#define STORE_CLI_OP_SPEC_(name_, fn, args_, shape)                                                    \
	[STORE_OP_##name_] = { .name = #name_, .args = args_, .cols = shape_##shape, .n_cols = shape##_COLUMNS, \
		.cli_only = true },
#define STORE_MAILER_OP_SPEC_(name_, fn, args_, shape)                                                 \
	[STORE_OP_##name_] = { .name = #name_, .args = args_, .cols = shape_##shape, .n_cols = shape##_COLUMNS, \
		.mailer_only = true },
static const struct store_op_spec specs[STORE_OP_MAX] = { STORE_OPS_WORKER(STORE_OP_SPEC_)
		STORE_OPS_CLI(STORE_CLI_OP_SPEC_) STORE_OPS_MAILER(STORE_MAILER_OP_SPEC_) };
#undef STORE_MAILER_OP_SPEC_
#undef STORE_CLI_OP_SPEC_
#undef STORE_OP_SPEC_

const struct store_op_spec *store_op_spec(uint32_t op)
{
	if (op == STORE_OP_NONE || op >= STORE_OP_MAX)
		return NULL;
	return &specs[op];
}
