// Must NOT compile: the engine uses text/ (streaming detokenization) but not chat/.
#include "chat/chat_template.h"
int engine_layer_probe() { return 0; }
