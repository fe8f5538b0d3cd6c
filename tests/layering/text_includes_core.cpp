// Must compile: text/ may use core/ (the control case, so the failing probe fails for the right reason).
#include "core/error.h"
#include "text/tokenizer.h"
int text_layer_probe() { return 0; }
