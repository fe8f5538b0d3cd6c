// Must NOT compile: chat/ uses text/ and core/ only, never the model.
#include "model/llama_model.h"
int chat_layer_probe() { return 0; }
