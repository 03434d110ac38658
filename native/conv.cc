// Convolutions (to be filled in): registers nothing yet.
#include "kernels.h"

napi_status RegisterConv(napi_env, napi_value) { return napi_ok; }
