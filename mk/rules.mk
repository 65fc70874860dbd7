# Shared rules. $(call quiet,TAG,TARGET) prefixes a recipe: it makes the target's folder and,
# unless V=1, prints one short line instead of the full command.
quiet = $(if $(filter 1,$(V)),mkdir -p $(dir $(2)) && ,@printf '  %-4s %s\n' '$(1)' '$(2)'; mkdir -p $(dir $(2)); )
